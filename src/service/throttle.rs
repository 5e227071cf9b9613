//! The sign-in throttle. Every try is counted before its password is checked, atomically in
//! the database (so racing tries are each counted, on every node): per e-mail address, known
//! or not, and per client address. While a stranger keeps an e-mail address blocked, tries
//! from an address its user signed in from before are counted on their own, so the owner is
//! not locked out. Only a few passwords are checked at once on a node (argon2id takes about
//! 19 MiB each); a try that finds them all busy is answered 503.

use crate::store::{Store, StoreResult, ThrottleRule};
use chrono::{DateTime, Utc};
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The longest e-mail address a sign-in may name (RFC 5321's limit on a path).
pub const EMAIL_MAX: usize = crate::domain::email::Email::MAX;

#[derive(Debug, Clone, PartialEq)]
pub struct SignInPolicy {
    /// Per e-mail address: five tries, then 30 s between tries, doubling up to 15 minutes.
    pub per_email: ThrottleRule,
    /// Per client address (an IPv6 /64): many addresses tried from one place.
    pub per_address: ThrottleRule,
    /// Passwords checked at once on this node.
    pub concurrent_checks: usize,
    /// How long a try waits for a free check before it is answered 503.
    pub check_wait: Duration,
    /// How long a client address a user signed in from stays known: while a stranger keeps
    /// the e-mail blocked, tries from a known address are counted on their own.
    pub remember_for: chrono::Duration,
}

impl Default for SignInPolicy {
    fn default() -> Self {
        let rule = |free| ThrottleRule {
            free,
            window: chrono::Duration::minutes(15),
            first_wait: chrono::Duration::seconds(30),
            max_wait: chrono::Duration::minutes(15),
        };
        SignInPolicy {
            per_email: rule(5),
            per_address: rule(20),
            concurrent_checks: 4,
            check_wait: Duration::from_secs(1),
            remember_for: chrono::Duration::days(30),
        }
    }
}

/// Why a try was not let through to its password check.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Refusal {
    /// The e-mail or the client address is blocked until then.
    Blocked(DateTime<Utc>),
    /// Every password check of the node is busy.
    Busy,
}

/// How many passwords are being checked, have been at most at once, and in all.
#[derive(Default)]
struct Tally {
    in_flight: AtomicUsize,
    peak: AtomicUsize,
    checked: AtomicU64,
}

pub struct SignInGuard {
    policy: SignInPolicy,
    checks: Arc<Semaphore>,
    tally: Arc<Tally>,
    /// Unix seconds of the last purge of old throttle rows.
    purged_at: AtomicI64,
}

impl Default for SignInGuard {
    fn default() -> Self {
        SignInGuard::new(SignInPolicy::default())
    }
}

fn email_subject(email: &str) -> String {
    format!("email:{email}")
}

fn address_subject(addr: &str) -> String {
    format!("addr:{addr}")
}

/// One e-mail address tried from one client address the user signed in from before.
fn known_subject(email: &str, addr: &str) -> String {
    format!("known:{addr}|{email}")
}

impl SignInGuard {
    pub fn new(policy: SignInPolicy) -> SignInGuard {
        SignInGuard {
            checks: Arc::new(Semaphore::new(policy.concurrent_checks.max(1))),
            policy,
            tally: Arc::default(),
            purged_at: AtomicI64::new(0),
        }
    }

    pub fn policy(&self) -> &SignInPolicy {
        &self.policy
    }

    /// Passwords this node has checked.
    pub fn checked(&self) -> u64 {
        self.tally.checked.load(Ordering::SeqCst)
    }

    /// The most passwords this node has checked at once.
    pub fn peak(&self) -> usize {
        self.tally.peak.load(Ordering::SeqCst)
    }

    /// Counts a try for the client address, then for the e-mail address, before anything
    /// is checked; then waits (briefly) for a free password check.
    pub async fn admit(
        &self,
        store: &Arc<dyn Store>,
        email: &str,
        addr: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Result<Check, Refusal>> {
        self.purge_now_and_then(store, now);
        let p = &self.policy;
        if let Some(until) = store
            .claim_throttle(&address_subject(addr), &p.per_address, now)
            .await?
        {
            return Ok(Err(Refusal::Blocked(until)));
        }
        if let Some(until) = store
            .claim_throttle(&email_subject(email), &p.per_email, now)
            .await?
        {
            // Someone who knows only the e-mail address may be keeping it blocked; its owner,
            // at an address they signed in from before, gets tries of its own.
            let known = store
                .signed_in_from(email, addr, now - p.remember_for)
                .await?;
            if !known {
                return Ok(Err(Refusal::Blocked(until)));
            }
            if let Some(until) = store
                .claim_throttle(&known_subject(email, addr), &p.per_email, now)
                .await?
            {
                return Ok(Err(Refusal::Blocked(until)));
            }
        }
        let permit =
            tokio::time::timeout(self.policy.check_wait, self.checks.clone().acquire_owned()).await;
        match permit {
            Ok(Ok(permit)) => Ok(Ok(Check {
                tally: self.tally.clone(),
                permit,
            })),
            _ => Ok(Err(Refusal::Busy)),
        }
    }

    /// After a correct password: the e-mail's failures are forgotten, the client address
    /// gets its try back and is known for the user from now on.
    pub async fn succeeded(
        &self,
        store: &Arc<dyn Store>,
        email: &str,
        addr: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        store.clear_throttle(&email_subject(email)).await?;
        store.clear_throttle(&known_subject(email, addr)).await?;
        store
            .refund_throttle(&address_subject(addr), &self.policy.per_address)
            .await?;
        store.remember_sign_in(email, addr, now).await
    }

    /// Deletes rows nobody has tried for a window, at most once a minute per node, in the
    /// background (the table is keyed by what callers type).
    fn purge_now_and_then(&self, store: &Arc<dyn Store>, now: DateTime<Utc>) {
        let last = self.purged_at.load(Ordering::Relaxed);
        if now.timestamp() - last < 60
            || self
                .purged_at
                .compare_exchange(last, now.timestamp(), Ordering::SeqCst, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let window = self
            .policy
            .per_email
            .window
            .max(self.policy.per_address.window);
        let remember_for = self.policy.remember_for;
        let store = store.clone();
        tokio::spawn(async move {
            let purged = match store.purge_throttle(now - window, now).await {
                Ok(_) => store.purge_sign_ins(now - remember_for).await.map(|_| ()),
                Err(e) => Err(e),
            };
            if let Err(e) = purged {
                tracing::warn!(error = %e, "could not purge the sign-in throttle");
            }
        });
    }
}

/// A password check that may run now: holds one of the node's checks until it is done.
pub struct Check {
    tally: Arc<Tally>,
    permit: OwnedSemaphorePermit,
}

impl Check {
    /// Runs the (blocking) check off the async threads. The permit goes with it, so a
    /// check whose caller went away still holds its place until it ends.
    pub async fn run(self, check: impl FnOnce() -> bool + Send + 'static) -> bool {
        let Check { tally, permit } = self;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let now = tally.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            tally.peak.fetch_max(now, Ordering::SeqCst);
            tally.checked.fetch_add(1, Ordering::SeqCst);
            let ok = check();
            tally.in_flight.fetch_sub(1, Ordering::SeqCst);
            ok
        })
        .await
        .unwrap_or(false)
    }
}
