//! A browser without JavaScript for the dashboard's HTTP tests.

use super::TestApp;

/// A browser without JavaScript: keeps the session cookie, reads forms' CSRF tokens.
pub struct Visitor {
    pub http: reqwest::Client,
    pub base: String,
    pub cookie: String,
}

pub struct Page {
    pub status: u16,
    pub body: String,
    pub location: String,
    pub set_cookie: Vec<String>,
}

impl Page {
    pub fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .unwrap_or_else(|| panic!("a form with a CSRF token in {}", self.body))
            + 19;
        let end = self.body[at..].find('"').unwrap();
        self.body[at..at + end].to_string()
    }
}

impl Visitor {
    pub fn new(app: &TestApp) -> Visitor {
        Visitor {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: app.url.clone(),
            cookie: String::new(),
        }
    }

    pub async fn read(&mut self, res: reqwest::Response) -> Page {
        let set_cookie: Vec<String> = res
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        for c in &set_cookie {
            let pair = c.split(';').next().unwrap();
            let name = pair.split('=').next().unwrap();
            let mut jar: Vec<String> = self
                .cookie
                .split("; ")
                .filter(|p| !p.is_empty() && !p.starts_with(&format!("{name}=")))
                .map(str::to_string)
                .collect();
            if !pair.ends_with('=') {
                jar.push(pair.to_string());
            }
            self.cookie = jar.join("; ");
        }
        Page {
            status: res.status().as_u16(),
            location: res
                .headers()
                .get("location")
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default(),
            set_cookie,
            body: res.text().await.unwrap(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let res = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        self.read(res).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .form(form)
            .send()
            .await
            .unwrap();
        self.read(res).await
    }

    pub async fn sign_in(&mut self, email: &str, password: &str) -> Page {
        let csrf = self.get("/dashboard/login").await.csrf();
        self.post(
            "/dashboard/login",
            &[("email", email), ("password", password), ("csrf", &csrf)],
        )
        .await
    }
}
