//! A fleet: three `hundi serve` nodes on one PostgreSQL database take creates, completions
//! and expiries round-robin while they share the webhook work and the expiry sweep. One node
//! is killed with SIGKILL while it holds leased deliveries, another is stopped with SIGTERM
//! while it holds leases. Nothing acknowledged is lost, every event is delivered, no delivery
//! is recorded as succeeding twice and no payment expires twice.
//!
//! Whose lease a delivery is under is read from the database: each node leases for its own
//! length of time (`HUNDI_WEBHOOK_LEASE_SECS`), so how far ahead a lease ends names its node.

use crate::common::receiver::{Captured, Receiver};
use crate::common::{free_port, Backend, ChildServer, TestDb};
use crate::process::{key_file, merchant_with_key, serve_with};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use sqlx::PgPool;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A delivery's timeout on every node; the receiver answers well within it.
const TIMEOUT_MS: u64 = 1500;
/// The node that is killed: its leases end 4.2–10 s ahead for their first 5.8 s.
const KILLED_LEASE_SECS: u64 = 10;
/// The node stopped with SIGTERM: its leases end more than 20 s ahead for the test's length.
const STOPPED_LEASE_SECS: u64 = 60;
/// The node that stays: its leases never end more than 4 s ahead. (A busy endpoint's
/// deliveries wait up to the lease less twice the timeout: here 1 s.)
const SURVIVOR_LEASE_SECS: u64 = 4;
/// How long a stopping node's dispatcher may take, as README.md states it: the timeout for
/// its sends in flight, 2 s for their results to be written, 2 s to hand its leases back.
const DRAIN_BOUND: Duration = Duration::from_millis(TIMEOUT_MS + 4000);
/// The three kinds of event the receiver is subscribed to.
const EVENTS: [&str; 3] = ["payment.created", "payment.succeeded", "payment.expired"];

const KILLED: usize = 0;
const STOPPED: usize = 1;
const SURVIVOR: usize = 2;

async fn start_node(db: &TestDb, lease_secs: u64) -> ChildServer {
    let (lease, timeout) = (lease_secs.to_string(), TIMEOUT_MS.to_string());
    serve_with(
        &db.url,
        &key_file(db),
        free_port(),
        &[
            ("HUNDI_ALLOW_PRIVATE_WEBHOOKS", "1"),
            (
                "HUNDI_WEBHOOK_RETRY_SCHEDULE",
                "0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5",
            ),
            ("HUNDI_WEBHOOK_TIMEOUT_MS", &timeout),
            ("HUNDI_WEBHOOK_LEASE_SECS", &lease),
            ("HUNDI_EXPIRY_INTERVAL_MS", "50"),
            // Three nodes and the other tests share one server's 100 connections.
            ("HUNDI_DB_POOL_SIZE", "8"),
        ],
    )
    .await
}

/// What the nodes acknowledged.
#[derive(Default)]
struct Acked {
    /// Payment ids with their references.
    created: Vec<(String, String)>,
    succeeded: Vec<String>,
    /// Payments whose expiry was moved into the past.
    expiring: Vec<String>,
    /// Payments whose completion went to a node that died: done or not, nobody was told.
    unsure: Vec<String>,
}

/// Writers sending creates, completions and expiries round-robin to the nodes still alive.
struct Traffic {
    stop: Arc<AtomicBool>,
    writers: Vec<tokio::task::JoinHandle<()>>,
}

#[derive(Clone)]
struct Fleet {
    urls: Arc<Vec<String>>,
    /// Cleared just before a node is stopped: a request to it may fail from then on.
    alive: Arc<Vec<AtomicBool>>,
    key: String,
    http: reqwest::Client,
    pool: PgPool,
    acked: Arc<Mutex<Acked>>,
}

impl Fleet {
    /// The alive node at round-robin position `i`.
    fn pick(&self, i: usize) -> Option<usize> {
        (0..self.urls.len())
            .map(|k| (i + k) % self.urls.len())
            .find(|&n| self.alive[n].load(Ordering::SeqCst))
    }

    /// A request to node `n` failed: acceptable only if the node is gone.
    fn lost(&self, n: usize, what: &str, e: reqwest::Error) {
        assert!(
            !self.alive[n].load(Ordering::SeqCst),
            "{what} on a node that is up failed: {e}"
        );
    }

    /// Creates a payment on node `n`; its id once acknowledged.
    async fn create(&self, n: usize, reference: &str) -> Option<String> {
        let res = self
            .http
            .post(format!("{}/v1/payments", self.urls[n]))
            .bearer_auth(&self.key)
            .json(&json!({"amount": "10.00", "currency": "PKR", "reference": reference}))
            .send()
            .await;
        let res = match res {
            Ok(r) => r,
            Err(e) => {
                self.lost(n, "a create", e);
                return None;
            }
        };
        assert_eq!(res.status().as_u16(), 201, "a create on node {n}");
        let body: Value = match res.json().await {
            Ok(b) => b,
            Err(e) => {
                self.lost(n, "a create's answer", e);
                return None;
            }
        };
        let id = body["id"].as_str().expect("an id").to_string();
        self.acked
            .lock()
            .unwrap()
            .created
            .push((id.clone(), reference.to_string()));
        Some(id)
    }

    /// Completes a payment with the test API on node `n`.
    async fn succeed(&self, n: usize, id: &str) {
        let res = self
            .http
            .post(format!("{}/v1/test/payments/{id}/succeed", self.urls[n]))
            .bearer_auth(&self.key)
            .send()
            .await;
        match res {
            Ok(r) => {
                assert_eq!(r.status().as_u16(), 200, "a completion on node {n}");
                self.acked.lock().unwrap().succeeded.push(id.to_string());
            }
            Err(e) => {
                self.lost(n, "a completion", e);
                self.acked.lock().unwrap().unsure.push(id.to_string());
            }
        }
    }

    /// Pays a payment by card on node `n`'s hosted checkout (a node that stays up).
    async fn pay_by_card(&self, n: usize, id: &str) {
        let checkout = format!("{}/pay/{id}", self.urls[n]);
        let paid = crate::common::pay_by_card_with(&self.http, &checkout).await;
        assert_eq!(paid.status().as_u16(), 303, "a card payment on node {n}");
        self.acked.lock().unwrap().succeeded.push(id.to_string());
    }

    /// Moves a payment's expiry into the past: the next sweep of any node expires it.
    async fn expire(&self, id: &str) {
        sqlx::query("UPDATE payments SET expires_at = now() - interval '1 minute' WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await
            .expect("move the expiry");
        self.acked.lock().unwrap().expiring.push(id.to_string());
    }

    /// Three writers: every payment is created, and one in six is completed with the test
    /// API, one in six paid by card, one in six expired.
    fn traffic(&self) -> Traffic {
        let stop = Arc::new(AtomicBool::new(false));
        let writers = (0..3)
            .map(|w| {
                let (fleet, stop) = (self.clone(), stop.clone());
                tokio::spawn(async move {
                    let mut i = w;
                    while !stop.load(Ordering::SeqCst) {
                        i += 1;
                        let Some(n) = fleet.pick(i) else { return };
                        if let Some(id) = fleet.create(n, &format!("w{w}-{i}")).await {
                            match i % 6 {
                                1 => match fleet.pick(i + 1) {
                                    Some(m) => fleet.succeed(m, &id).await,
                                    None => return,
                                },
                                // Never on the node about to be killed: a browser's form
                                // post cut off is no acknowledgement to check.
                                3 => fleet.pay_by_card([STOPPED, SURVIVOR][i % 2], &id).await,
                                5 => fleet.expire(&id).await,
                                _ => {}
                            }
                        }
                        tokio::time::sleep(Duration::from_millis(40)).await;
                    }
                })
            })
            .collect();
        Traffic { stop, writers }
    }
}

impl Traffic {
    async fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        for w in self.writers {
            w.await.expect("a writer failed");
        }
    }
}

/// A delivery under someone's lease.
#[derive(Debug, Clone)]
struct Leased {
    delivery_id: String,
    event_id: String,
    lease_until: DateTime<Utc>,
}

/// Pending deliveries whose lease ends between `from` and `to` seconds from now (the
/// database's clock): whose lease it is, by its length.
async fn leased_ahead(pool: &PgPool, from: f64, to: f64) -> Vec<Leased> {
    let rows: Vec<(String, String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT id, event_id, lease_until FROM webhook_deliveries WHERE status = 'pending' \
         AND lease_until > now() + make_interval(secs => $1) \
         AND lease_until <= now() + make_interval(secs => $2)",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
    .expect("read leases");
    rows.into_iter()
        .map(|(delivery_id, event_id, lease_until)| Leased {
            delivery_id,
            event_id,
            lease_until,
        })
        .collect()
}

async fn pending_deliveries(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending'")
        .fetch_one(pool)
        .await
        .expect("count pending")
}

/// Waits (up to `secs`) until no delivery is pending.
async fn settle(pool: &PgPool, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let pending = pending_deliveries(pool).await;
        if pending == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{pending} deliveries still pending after {secs} s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn healthy(http: &reqwest::Client, url: &str) {
    let res = http
        .get(format!("{url}/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(res.status().as_u16(), 200);
    let body: Value = res.json().await.expect("healthz body");
    assert_eq!(body, json!({"status": "ok", "database": "postgres"}));
}

fn tally(got: &[Captured]) -> HashMap<String, usize> {
    let mut t = HashMap::new();
    for c in got {
        *t.entry(c.header("webhook-id")).or_insert(0) += 1;
    }
    t
}

async fn a_fleet_loses_nothing_and_does_nothing_twice() {
    let began = Instant::now();
    let db = TestDb::new(Backend::Postgres).await;
    let (_, key) = merchant_with_key(&db).await;
    let pool = PgPool::connect(&db.url).await.expect("connect");
    let receiver = Receiver::start().await;
    let delay = |ms: u64| receiver.inbox.delay_ms.store(ms, Ordering::Relaxed);
    // Slower than the nodes' sends in flight keep up with, so that deliveries queue on them.
    delay(500);
    let mut nodes = Vec::new();
    for lease in [KILLED_LEASE_SECS, STOPPED_LEASE_SECS, SURVIVOR_LEASE_SECS] {
        nodes.push(start_node(&db, lease).await);
    }
    let fleet = Fleet {
        urls: Arc::new(nodes.iter().map(|n| n.url.clone()).collect()),
        alive: Arc::new((0..3).map(|_| AtomicBool::new(true)).collect()),
        key,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap(),
        pool: pool.clone(),
        acked: Arc::default(),
    };
    let res = fleet
        .http
        .post(format!("{}/v1/webhook_endpoints", fleet.urls[SURVIVOR]))
        .bearer_auth(&fleet.key)
        .json(&json!({"url": receiver.url, "events": EVENTS}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);

    // SIGKILL one node while it holds leased deliveries; the traffic goes on to the others.
    let traffic = fleet.traffic();
    let deadline = Instant::now() + Duration::from_secs(15);
    while leased_ahead(&pool, 4.2, 10.5).await.len() < 6 {
        assert!(
            Instant::now() < deadline,
            "the node to be killed never held 6 deliveries"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    fleet.alive[KILLED].store(false, Ordering::SeqCst);
    nodes[KILLED].child.kill().expect("SIGKILL");
    nodes[KILLED].child.wait().expect("reaped");
    // Read at once: only the killed node's leases end that far ahead, and it takes no more.
    let killed_held = leased_ahead(&pool, 4.2, 10.5).await;
    assert!(!killed_held.is_empty(), "the killed node held no lease");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for n in [STOPPED, SURVIVOR] {
        healthy(&fleet.http, &fleet.urls[n]).await;
    }
    traffic.stop().await;
    // The killed node's leases run out (at most 10 s), then the others send its deliveries.
    settle(&pool, 30).await;
    for d in &killed_held {
        let completed: Option<DateTime<Utc>> =
            sqlx::query_scalar("SELECT completed_at FROM webhook_deliveries WHERE id = $1")
                .bind(&d.delivery_id)
                .fetch_one(&pool)
                .await
                .unwrap();
        assert!(completed.is_some(), "{} was finished", d.delivery_id);
    }
    let after_kill = began.elapsed();

    // SIGTERM a node while it holds leases it has not sent: it hands them back and exits.
    delay(500);
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut round = 0;
    let stopped_held = loop {
        let burst: Vec<_> = (0..24)
            .map(|k| {
                let (fleet, n) = (fleet.clone(), [STOPPED, SURVIVOR][k % 2]);
                tokio::spawn(async move { fleet.create(n, &format!("b{round}-{k}")).await })
            })
            .collect();
        for b in burst {
            assert!(b.await.unwrap().is_some(), "a create before the SIGTERM");
        }
        round += 1;
        // More than its 16 sends in flight: some are leased and not started.
        let held = leased_ahead(&pool, 20.0, 1000.0).await;
        if held.len() >= 24 {
            break held;
        }
        assert!(
            Instant::now() < deadline,
            "the node to be stopped never held 24 deliveries"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    fleet.alive[STOPPED].store(false, Ordering::SeqCst);
    let term_sent = Instant::now();
    let pid = nodes[STOPPED].child.id() as libc::pid_t;
    // SAFETY: signalling our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = loop {
        if let Some(status) = nodes[STOPPED].child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            term_sent.elapsed() < Duration::from_secs(20),
            "the node did not stop"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let (stopped_in, exited_at) = (term_sent.elapsed(), Utc::now());
    assert!(status.success(), "exit after SIGTERM: {status:?}");
    assert!(
        stopped_in < DRAIN_BOUND,
        "stopping took {stopped_in:?}, past the documented {DRAIN_BOUND:?}"
    );
    settle(&pool, 20).await;
    let lease_ends = stopped_held.iter().map(|d| d.lease_until).min().unwrap();
    let ids: Vec<String> = stopped_held.iter().map(|d| d.delivery_id.clone()).collect();
    let finished: Vec<(String, Option<DateTime<Utc>>)> =
        sqlx::query_as("SELECT status, completed_at FROM webhook_deliveries WHERE id = ANY($1)")
            .bind(&ids)
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(finished.len(), ids.len());
    let mut handed_back = 0;
    for (status, completed) in &finished {
        assert_eq!(status, "succeeded");
        let completed = completed.expect("a completion time");
        // Well before the stopped node's lease would have let anyone else take it.
        assert!(
            completed < lease_ends - chrono::Duration::seconds(10),
            "a delivery held by the stopped node waited for its lease ({completed} vs {lease_ends})"
        );
        // Finished after that node was gone: by another node, which could take it only
        // because it was handed back.
        if completed > exited_at {
            handed_back += 1;
        }
    }
    assert!(
        handed_back > 0,
        "no delivery of the stopped node was handed back"
    );

    // Every acknowledged create is there, as acknowledged, read through the node that stayed.
    let acked = std::mem::take(&mut *fleet.acked.lock().unwrap());
    let expected = |id: &str| {
        if acked.expiring.iter().any(|e| e == id) {
            "expired"
        } else if acked.succeeded.iter().any(|s| s == id) {
            "succeeded"
        } else {
            "pending"
        }
    };
    for (id, reference) in &acked.created {
        let res = fleet
            .http
            .get(format!("{}/v1/payments/{id}", fleet.urls[SURVIVOR]))
            .bearer_auth(&fleet.key)
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status().as_u16(),
            200,
            "acknowledged payment {id} is lost"
        );
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["reference"], reference.as_str());
        if !acked.unsure.contains(id) {
            assert_eq!(body["status"], expected(id), "{id}");
        }
    }

    // Each expiry was written once, whichever node's sweep found it.
    let expired: Vec<(String, i64)> = sqlx::query_as(
        "SELECT object_id, COUNT(*) FROM events WHERE type = 'payment.expired' GROUP BY object_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(expired.iter().all(|(_, n)| *n == 1), "{expired:?}");
    let expired: HashSet<String> = expired.into_iter().map(|(id, _)| id).collect();
    assert_eq!(expired, acked.expiring.iter().cloned().collect());

    // Every event has its delivery, succeeded, with one successful attempt in the log.
    let deliveries: Vec<(String, i64, i64, i64)> = sqlx::query_as(
        "SELECT e.id, COUNT(DISTINCT d.id), \
         COUNT(DISTINCT d.id) FILTER (WHERE d.status = 'succeeded'), \
         COUNT(a.id) FILTER (WHERE a.status_code BETWEEN 200 AND 299) \
         FROM events e LEFT JOIN webhook_deliveries d ON d.event_id = e.id \
         LEFT JOIN webhook_attempts a ON a.delivery_id = d.id \
         WHERE e.type = ANY($1) GROUP BY e.id",
    )
    .bind(EVENTS.map(String::from).to_vec())
    .fetch_all(&pool)
    .await
    .unwrap();
    for (event, scheduled, succeeded, successes) in &deliveries {
        assert_eq!(
            (scheduled, succeeded, successes),
            (&1, &1, &1),
            "event {event}: deliveries, succeeded, successful attempts"
        );
    }

    // The receiver got every event. One it got twice must have been under the killed node's
    // lease: sent by it, its result lost with it, sent again once the lease ran out. Nothing
    // else arrives twice: not what the stopped node handed back, nor what it finished.
    let got = tally(&receiver.inbox.all());
    let events: HashSet<String> = deliveries.iter().map(|(e, ..)| e.clone()).collect();
    assert_eq!(
        got.keys().cloned().collect::<HashSet<_>>(),
        events,
        "the receiver got exactly the events"
    );
    let killed_events: HashSet<&str> = killed_held.iter().map(|d| d.event_id.as_str()).collect();
    let mut resent = 0;
    for (id, n) in &got {
        match n {
            1 => {}
            2 if killed_events.contains(id.as_str()) => resent += 1,
            _ => panic!("{id} arrived {n} times"),
        }
    }
    eprintln!(
        "fleet: {} creates, {} completed, {} expired, {} events; killed node held {} \
         ({resent} sent again) after {after_kill:?}; stopped node held {}, handed back at \
         least {handed_back}, exited in {stopped_in:?}; {:?} in all",
        acked.created.len(),
        acked.succeeded.len(),
        acked.expiring.len(),
        events.len(),
        killed_held.len(),
        stopped_held.len(),
        began.elapsed()
    );
}

mod a_fleet_loses_nothing_and_does_nothing_twice {
    /// Several nodes need a shared server database: PostgreSQL.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres() {
        super::a_fleet_loses_nothing_and_does_nothing_twice().await
    }
}
