//! Where a payment came from (its `source`: `native` or a dialect's name) and what the pages
//! need to know of each: the dashboard's label and credentials, the query parameters the
//! checkout's redirects carry. Plain data, filled in at startup from the dialect registry, so
//! the checkout and the dashboard know no dialect by name.

/// A secret a dialect needs in readable form, created and rotated by name
/// (`hundi credential create <name>`, the dashboard's API keys page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CredentialKind {
    pub name: &'static str,
    /// What the dashboard calls it.
    pub label: &'static str,
    /// How a generated secret starts (`whsec_`, `wp_sec_`…).
    pub secret_prefix: &'static str,
    /// Whether it comes with a public id (XPay's account id: 24 hex digits).
    pub public_id: bool,
}

/// One front door a payment can come through.
#[derive(Debug, Clone, Copy)]
pub struct Source {
    /// The payment's `source` and the webhook format of its dialect.
    pub name: &'static str,
    /// What people call it ("Pakhi Pay").
    pub label: &'static str,
    /// The query parameters that carry the payment's id when the checkout sends the
    /// customer back to the merchant.
    pub redirect_id_params: &'static [&'static str],
    pub credentials: &'static [CredentialKind],
}

/// The native API's source.
pub const NATIVE: Source = Source {
    name: "native",
    label: "Hundi",
    redirect_id_params: &["payment_id"],
    credentials: &[],
};

/// Every source, the native one first.
#[derive(Debug, Clone)]
pub struct Sources(Vec<Source>);

impl Sources {
    pub fn new(dialects: impl IntoIterator<Item = Source>) -> Sources {
        Sources(std::iter::once(NATIVE).chain(dialects).collect())
    }

    pub fn all(&self) -> &[Source] {
        &self.0
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|s| s.name).collect()
    }

    pub fn get(&self, name: &str) -> Option<&Source> {
        self.0.iter().find(|s| s.name == name)
    }

    /// The redirect parameters of a payment's source; a source no longer known (a payment
    /// made through a dialect since removed) is redirected as a native one.
    pub fn redirect_id_params(&self, source: &str) -> &'static [&'static str] {
        self.get(source).unwrap_or(&NATIVE).redirect_id_params
    }

    /// Every credential a merchant may create, in the order of the sources.
    pub fn credentials(&self) -> impl Iterator<Item = &'static CredentialKind> + '_ {
        self.0.iter().flat_map(|s| s.credentials.iter())
    }

    pub fn credential(&self, name: &str) -> Option<&'static CredentialKind> {
        self.credentials().find(|c| c.name == name)
    }

    /// The names `credential` knows, for an error message.
    pub fn credential_names(&self) -> String {
        self.credentials()
            .map(|c| c.name)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl Default for Sources {
    fn default() -> Sources {
        Sources::new([])
    }
}
