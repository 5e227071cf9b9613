//! Request rate limits: a token bucket per API key, and one per client address for browser
//! keys (keys that can only create payments, whose secret sits in a shop's page).
//!
//! A bucket holds `burst` tokens (twice the rate) and refills continuously at the rate; each
//! request takes one before any work is done, or is refused. SQLite is one node, so its
//! buckets live in memory (governor's lock-free GCRA). On PostgreSQL every node takes tokens
//! from the bucket's shared row in small batches (a lease that lives one second at most), so
//! N nodes together hand out no more than the one bucket holds, and a batch costs one
//! database round trip. A node that finds the bucket empty refuses locally until it refills,
//! so a flood of refused requests costs the database nothing.
//!
//! The maps of buckets are bounded: an entry idle long enough to be full again is forgotten
//! (a new entry starts full, so nothing changes), and past `MAX_BUCKETS` a new client
//! address gets no bucket of its own (its key's bucket still applies).

use crate::domain::key::ApiKey;
use crate::store::Store;
use dashmap::DashMap;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::Quota;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Most buckets a node keeps in memory.
const MAX_BUCKETS: usize = 100_000;
/// A bucket untouched this long is full again (burst / rate = 2 s) and can be forgotten.
const IDLE: Duration = Duration::from_secs(10);
/// How long a node may keep tokens it took from a shared bucket and has not used.
const LEASE_TTL: Duration = Duration::from_secs(1);
/// How often idle shared bucket rows are deleted from the database.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// Requests per second and the burst a full bucket allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub per_second: u32,
    pub burst: u32,
}

impl Limit {
    /// `n` requests per second, in bursts of up to `2n`.
    pub fn per_second(n: u32) -> Limit {
        let n = n.max(1);
        Limit {
            per_second: n,
            burst: n.saturating_mul(2),
        }
    }

    /// How long the bucket takes to refill `tokens`.
    fn refill(&self, tokens: f64) -> Duration {
        Duration::from_secs_f64(tokens.max(0.0) / f64::from(self.per_second))
    }

    /// How many tokens a node takes from a shared bucket at once: a twentieth of the burst,
    /// so several nodes share a bucket finely, and at most 1,000. While a node takes a batch,
    /// its other requests of that key wait for it, so a key used thousands of times a second
    /// takes a round trip every thousand requests, not every fifty.
    fn batch(&self) -> u32 {
        (self.burst / 20).clamp(1, 1000)
    }
}

/// The answer for one request, and what its `RateLimit-*` headers say.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: Limit,
    /// Requests left in the bucket right now.
    pub remaining: u32,
    /// Until the bucket is full again.
    pub reset: Duration,
    /// Until a request is allowed again (zero when this one was).
    pub retry_after: Duration,
}

impl Decision {
    fn allowed(limit: Limit, remaining: u32) -> Decision {
        let remaining = remaining.min(limit.burst);
        Decision {
            allowed: true,
            limit,
            remaining,
            reset: limit.refill(f64::from(limit.burst - remaining)),
            retry_after: Duration::ZERO,
        }
    }

    fn refused(limit: Limit, retry_after: Duration) -> Decision {
        Decision {
            allowed: false,
            limit,
            remaining: 0,
            reset: limit.refill(f64::from(limit.burst)),
            retry_after,
        }
    }

    /// The part of the bucket left, for choosing the tighter of two decisions.
    fn share_left(&self) -> f64 {
        f64::from(self.remaining) / f64::from(self.limit.burst.max(1))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RateLimitConfig {
    /// Requests per second of a key that sets no limit of its own.
    pub default_per_second: u32,
    /// Requests per second from one client address with one browser key (0: no such limit).
    pub per_address_per_second: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            default_per_second: 100,
            per_address_per_second: 10,
        }
    }
}

impl RateLimitConfig {
    /// `HUNDI_RATE_LIMIT` (default 100) and `HUNDI_RATE_LIMIT_PER_ADDRESS` (default 10).
    /// The client's address is the one `--trusted-proxies` decides, as for the sign-in
    /// throttle.
    /// `var` names a setting's value (`config.rs` reads them from the environment once).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> RateLimitConfig {
        let read = |name: &str, default: u32| {
            var(name)
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(default)
        };
        let d = RateLimitConfig::default();
        RateLimitConfig {
            default_per_second: read("HUNDI_RATE_LIMIT", d.default_per_second).max(1),
            per_address_per_second: read("HUNDI_RATE_LIMIT_PER_ADDRESS", d.per_address_per_second),
        }
    }
}

/// Counts requests against their buckets.
pub struct RateLimiter {
    config: RateLimitConfig,
    buckets: Buckets,
}

enum Buckets {
    Local(LocalBuckets),
    Shared(SharedBuckets),
}

impl RateLimiter {
    /// Buckets in memory on SQLite (one node), in the database on PostgreSQL.
    pub fn new(store: Arc<dyn Store>, config: RateLimitConfig) -> RateLimiter {
        if store.backend() == "sqlite" {
            RateLimiter::local(config)
        } else {
            RateLimiter::shared(store, config)
        }
    }

    pub fn local(config: RateLimitConfig) -> RateLimiter {
        RateLimiter {
            config,
            buckets: Buckets::Local(LocalBuckets::default()),
        }
    }

    pub fn shared(store: Arc<dyn Store>, config: RateLimitConfig) -> RateLimiter {
        RateLimiter {
            config,
            buckets: Buckets::Shared(SharedBuckets::new(store)),
        }
    }

    pub fn config(&self) -> &RateLimitConfig {
        &self.config
    }

    /// The limit a key's requests are held to.
    pub fn key_limit(&self, key: &ApiKey) -> Limit {
        Limit::per_second(key.rate_limit.unwrap_or(self.config.default_per_second))
    }

    /// Counts one request made with `key` from `client`. A browser key's request first takes
    /// from its client address's bucket (so one address cannot spend the whole key's
    /// allowance), then from the key's. Returns the refusing decision, or the tighter one.
    pub async fn admit(&self, key: &ApiKey, client: Option<IpAddr>) -> Decision {
        let key_limit = self.key_limit(key);
        let per_address = match client {
            Some(ip) if key.is_browser_key() && self.config.per_address_per_second > 0 => {
                let limit = Limit::per_second(self.config.per_address_per_second);
                let name = format!("addr:{}:{}", key.id, address_bucket(ip));
                match self.take(&name, limit).await {
                    Some(d) if !d.allowed => return d,
                    other => other,
                }
            }
            _ => None,
        };
        let by_key = self
            .take(&format!("key:{}", key.id), key_limit)
            .await
            .unwrap_or_else(|| Decision::allowed(key_limit, key_limit.burst));
        match per_address {
            Some(a) if by_key.allowed && a.share_left() < by_key.share_left() => a,
            _ => by_key,
        }
    }

    /// Takes one token from the bucket `name`; `None` when the bucket cannot be kept
    /// (too many buckets in memory, or the database did not answer): the request goes on.
    pub async fn take(&self, name: &str, limit: Limit) -> Option<Decision> {
        match &self.buckets {
            Buckets::Local(b) => b.take(name, limit),
            Buckets::Shared(b) => b.take(name, limit).await,
        }
    }

    /// Forgets idle buckets; called now and then by a background task.
    pub async fn maintain(&self) {
        match &self.buckets {
            Buckets::Local(b) => b.entries.evict_idle(),
            Buckets::Shared(b) => b.maintain().await,
        }
    }
}

/// The address a per-address bucket is kept for: an IPv4 address, or the /64 network of an
/// IPv6 address (one host usually has a whole /64 to pick addresses from).
fn address_bucket(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// A bounded map of buckets by name, each with the time it was last used.
struct Entries<T> {
    started: Instant,
    map: DashMap<String, Arc<Entry<T>>>,
}

struct Entry<T> {
    bucket: T,
    /// Milliseconds since `started` of the last use.
    used: AtomicU64,
}

impl<T> Default for Entries<T> {
    fn default() -> Self {
        Entries {
            started: Instant::now(),
            map: DashMap::new(),
        }
    }
}

impl<T> Entries<T> {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The entry `name`, made by `make` if missing (or replaced when `stale` says so);
    /// `None` when the map is full of buckets in use.
    fn get(
        &self,
        name: &str,
        make: impl Fn() -> T,
        stale: impl Fn(&T) -> bool,
    ) -> Option<Arc<Entry<T>>> {
        let now = self.now_ms();
        if let Some(e) = self.map.get(name) {
            if !stale(&e.bucket) {
                e.used.store(now, Ordering::Relaxed);
                return Some(e.clone());
            }
        }
        if self.map.len() >= MAX_BUCKETS && !self.map.contains_key(name) {
            self.evict_idle();
            if self.map.len() >= MAX_BUCKETS {
                return None;
            }
        }
        let entry = self
            .map
            .entry(name.to_string())
            .and_modify(|e| {
                if stale(&e.bucket) {
                    *e = Arc::new(Entry {
                        bucket: make(),
                        used: AtomicU64::new(now),
                    });
                }
            })
            .or_insert_with(|| {
                Arc::new(Entry {
                    bucket: make(),
                    used: AtomicU64::new(now),
                })
            })
            .clone();
        entry.used.store(now, Ordering::Relaxed);
        Some(entry)
    }

    fn evict_idle(&self) {
        let now = self.now_ms();
        let idle = u64::try_from(IDLE.as_millis()).unwrap_or(u64::MAX);
        self.map
            .retain(|_, e| now.saturating_sub(e.used.load(Ordering::Relaxed)) < idle);
    }
}

type Gcra =
    governor::RateLimiter<NotKeyed, InMemoryState, DefaultClock, StateInformationMiddleware>;

/// One node's buckets, in memory.
#[derive(Default)]
struct LocalBuckets {
    clock: DefaultClock,
    entries: Entries<(Limit, Gcra)>,
}

impl LocalBuckets {
    fn take(&self, name: &str, limit: Limit) -> Option<Decision> {
        let make = || {
            let quota =
                Quota::per_second(nonzero(limit.per_second)).allow_burst(nonzero(limit.burst));
            (
                limit,
                governor::RateLimiter::direct_with_clock(quota, self.clock.clone())
                    .with_middleware::<StateInformationMiddleware>(),
            )
        };
        // A key whose limit changed starts a new bucket at the new size.
        let entry = self.entries.get(name, make, |(l, _)| *l != limit)?;
        Some(match entry.bucket.1.check() {
            Ok(state) => Decision::allowed(limit, state.remaining_burst_capacity()),
            Err(not_until) => Decision::refused(limit, not_until.wait_time_from(self.clock.now())),
        })
    }
}

fn nonzero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

/// What a node holds of one shared bucket.
struct Lease {
    limit: Limit,
    /// Tokens taken from the database and not used yet.
    tokens: u32,
    taken_at: Instant,
    /// What the bucket had left when the tokens were taken.
    left: f64,
    /// The bucket was empty: refuse without asking until then.
    empty_until: Option<Instant>,
}

impl Lease {
    fn new(limit: Limit) -> Lease {
        Lease {
            limit,
            tokens: 0,
            taken_at: Instant::now(),
            left: f64::from(limit.burst),
            empty_until: None,
        }
    }

    /// The bucket's tokens now, as far as this node knows: what it left plus its refill
    /// since, plus the tokens this node holds.
    fn remaining(&self) -> u32 {
        let refilled =
            self.left + self.taken_at.elapsed().as_secs_f64() * f64::from(self.limit.per_second);
        let shared = refilled.min(f64::from(self.limit.burst)).floor() as u32;
        shared.saturating_add(self.tokens)
    }
}

/// Buckets shared by every node through the database.
struct SharedBuckets {
    store: Arc<dyn Store>,
    entries: Entries<tokio::sync::Mutex<Lease>>,
    pruned: std::sync::Mutex<Instant>,
}

impl SharedBuckets {
    fn new(store: Arc<dyn Store>) -> SharedBuckets {
        SharedBuckets {
            store,
            entries: Entries::default(),
            pruned: std::sync::Mutex::new(Instant::now()),
        }
    }

    async fn take(&self, name: &str, limit: Limit) -> Option<Decision> {
        let entry = self.entries.get(
            name,
            || tokio::sync::Mutex::new(Lease::new(limit)),
            |_| false,
        )?;
        // One request per bucket and node talks to the database at a time; the others
        // wait for its batch instead of taking batches of their own.
        let mut lease = entry.bucket.lock().await;
        if lease.limit != limit {
            *lease = Lease::new(limit);
        }
        let now = Instant::now();
        if lease.tokens > 0 && now.duration_since(lease.taken_at) < LEASE_TTL {
            lease.tokens -= 1;
            return Some(Decision::allowed(limit, lease.remaining()));
        }
        lease.tokens = 0;
        if let Some(until) = lease.empty_until {
            if now < until {
                return Some(Decision::refused(limit, until - now));
            }
        }
        let grant = match self
            .store
            .take_rate_tokens(name, limit.per_second, limit.burst, limit.batch())
            .await
        {
            Ok(g) => g,
            Err(e) => {
                // The limiter is no new way to fail: the request's own work will meet the
                // database's trouble and answer for it.
                tracing::warn!(error = %e, bucket = name, "rate limit not checked");
                return None;
            }
        };
        lease.taken_at = now;
        lease.left = grant.left;
        if grant.granted == 0 {
            let wait = limit.refill(1.0 - grant.left);
            lease.empty_until = Some(now + wait);
            return Some(Decision::refused(limit, wait));
        }
        lease.empty_until = None;
        lease.tokens = grant.granted - 1;
        Some(Decision::allowed(limit, lease.remaining()))
    }

    async fn maintain(&self) {
        self.entries.evict_idle();
        {
            let Ok(mut pruned) = self.pruned.lock() else {
                return;
            };
            if pruned.elapsed() < PRUNE_EVERY {
                return;
            }
            *pruned = Instant::now();
        }
        if let Err(e) = self.store.prune_rate_buckets(IDLE).await {
            tracing::warn!(error = %e, "could not prune idle rate limit buckets");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::key::{Mode, Permission};

    fn key(id: &str, permissions: Vec<Permission>, rate_limit: Option<u32>) -> ApiKey {
        ApiKey {
            id: id.into(),
            merchant_id: "mer_1".into(),
            mode: Mode::Test,
            label: String::new(),
            prefix: String::new(),
            secret_hash: Vec::new(),
            permissions,
            webhook_url: None,
            request_count: 0,
            created_at: chrono::Utc::now(),
            revoked_at: None,
            rate_limit,
        }
    }

    #[tokio::test]
    async fn a_key_gets_its_burst_then_is_refused_until_a_token_refills() {
        let limiter = RateLimiter::local(RateLimitConfig::default());
        let k = key("key_a", vec![Permission::PaymentsWrite], Some(5));
        for i in 0..10 {
            let d = limiter.admit(&k, None).await;
            assert!(d.allowed, "request {i}");
            assert_eq!((d.limit.burst, d.remaining), (10, 9 - i));
        }
        let refused = limiter.admit(&k, None).await;
        assert!(!refused.allowed);
        assert!(refused.retry_after > Duration::ZERO);
        assert!(refused.retry_after <= Duration::from_millis(200));
        // Another key is not affected.
        let other = key("key_b", vec![Permission::PaymentsWrite], Some(5));
        assert!(limiter.admit(&other, None).await.allowed);
    }

    #[tokio::test]
    async fn a_browser_key_is_limited_per_address_and_other_addresses_go_on() {
        let limiter = RateLimiter::local(RateLimitConfig {
            per_address_per_second: 2,
            ..RateLimitConfig::default()
        });
        let k = key("key_b", vec![Permission::PaymentsCreate], None);
        let a: IpAddr = "203.0.113.7".parse().unwrap();
        let b: IpAddr = "203.0.113.8".parse().unwrap();
        for _ in 0..4 {
            assert!(limiter.admit(&k, Some(a)).await.allowed);
        }
        let refused = limiter.admit(&k, Some(a)).await;
        assert!(!refused.allowed);
        assert_eq!(refused.limit, Limit::per_second(2));
        assert!(limiter.admit(&k, Some(b)).await.allowed);
        // A server key has no per-address bucket.
        let server = key("key_s", Permission::ALL.to_vec(), None);
        for _ in 0..10 {
            assert!(limiter.admit(&server, Some(a)).await.allowed);
        }
    }

    #[test]
    fn ipv6_addresses_share_their_64() {
        let a = address_bucket("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = address_bucket("2001:db8:1:2:bbbb::9".parse().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, address_bucket("2001:db8:1:3::1".parse().unwrap()));
        assert_eq!(
            address_bucket("::ffff:10.0.0.1".parse().unwrap()),
            "10.0.0.1"
        );
    }

    #[test]
    fn the_map_of_buckets_is_bounded_and_forgets_idle_ones() {
        let entries: Entries<u32> = Entries::default();
        for i in 0..MAX_BUCKETS {
            assert!(entries.get(&format!("b{i}"), || 0, |_| false).is_some());
        }
        // Full of buckets in use: a new name gets none, a known one still does.
        assert!(entries.get("new", || 0, |_| false).is_none());
        assert!(entries.get("b7", || 0, |_| false).is_some());
        assert_eq!(entries.map.len(), MAX_BUCKETS);
        // Once idle, they are forgotten.
        for e in entries.map.iter() {
            e.used.store(0, Ordering::Relaxed);
        }
        let later = Entries::<u32> {
            started: Instant::now() - IDLE - Duration::from_secs(1),
            map: entries.map,
        };
        assert!(later.get("new", || 0, |_| false).is_some());
        assert_eq!(later.map.len(), 1);
    }

    #[tokio::test]
    async fn a_changed_limit_applies_at_once() {
        let limiter = RateLimiter::local(RateLimitConfig::default());
        let mut k = key("key_c", vec![Permission::PaymentsWrite], Some(1));
        assert!(limiter.admit(&k, None).await.allowed);
        assert!(limiter.admit(&k, None).await.allowed);
        assert!(!limiter.admit(&k, None).await.allowed);
        k.rate_limit = Some(50);
        let d = limiter.admit(&k, None).await;
        assert!(d.allowed);
        assert_eq!(d.limit.burst, 100);
    }
}
