//! The store's conformance suite: every scenario runs against SQLite and PostgreSQL.

use crate::common::{Backend, TestDb};
use chrono::{Duration, Utc};
use hundi::domain::key::hash_secret;
use hundi::domain::payment::PaymentStatus;
use hundi::service::{NewPayment, PaymentService};
use hundi::store::{
    EventFilter, IdempotencyClaim, KeyStore, PaymentFilter, Scope, Store, StoredResponse,
};
use std::sync::Arc;

async fn setup(
    backend: Backend,
) -> (
    TestDb,
    Arc<dyn Store>,
    PaymentService,
    Scope,
    crate::common::Merchant,
) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let m = crate::common::merchant(&*store, "Shop").await;
    let service = PaymentService::new(store.clone(), "http://hundi.test".into());
    let scope = Scope {
        merchant_id: m.id.clone(),
        livemode: false,
    };
    (db, store, service, scope, m)
}

fn new_payment(amount: &str) -> NewPayment {
    NewPayment {
        amount: amount.into(),
        currency: "PKR".into(),
        source: "native".into(),
        ..Default::default()
    }
}

/// A test-mode endpoint of the scope's merchant, stored, that wants `events` and can never be
/// reached (port 9, discard).
async fn unreachable_endpoint(
    store: &dyn Store,
    scope: &Scope,
    events: &[&str],
) -> hundi::domain::webhook::Endpoint {
    let endpoint = hundi::domain::webhook::Endpoint::new(
        &scope.merchant_id,
        false,
        "http://127.0.0.1:9/hook".into(),
        events.iter().map(|e| e.to_string()).collect(),
        None,
        hundi::domain::webhook::FORMAT_NATIVE,
        hundi::domain::now(),
    );
    store.create_endpoint(&endpoint, None).await.unwrap();
    endpoint
}

async fn events(store: &dyn Store, scope: &Scope, object: &str) -> Vec<String> {
    let filter = EventFilter {
        object_id: Some(object.into()),
        limit: 100,
        ..Default::default()
    };
    let mut types: Vec<String> = store
        .list_events(scope, &filter)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    types.reverse();
    types
}

async fn migrations_apply_twice(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    store.migrate().await.expect("second migrate is a no-op");
    store.ping().await.unwrap();
}

async fn keys_are_found_by_hash_and_revoked(backend: Backend) {
    let (_db, store, _, _, m) = setup(backend).await;
    let key = store
        .find_key_by_hash(&hash_secret(&m.test_key))
        .await
        .unwrap();
    assert_eq!(key.merchant_id, m.id);
    assert!(key.matches(&m.test_key));
    assert!(store
        .find_key_by_hash(&hash_secret("hk_test_nope"))
        .await
        .is_err());
    let revoked = store.revoke_key(&key.id, Utc::now(), None).await.unwrap();
    assert!(revoked.is_revoked());
    let again = store
        .find_key_by_hash(&hash_secret(&m.test_key))
        .await
        .unwrap();
    assert!(again.is_revoked());
    store
        .add_key_requests(&[(key.id.clone(), 3), (key.id.clone(), 4)])
        .await
        .unwrap();
    let listed = store.list_keys(Some(&m.id)).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(
        listed
            .iter()
            .find(|k| k.id == key.id)
            .unwrap()
            .request_count,
        7
    );
}

async fn payments_are_scoped_to_merchant_and_mode(backend: Backend) {
    let (_db, store, service, scope, _) = setup(backend).await;
    let other = crate::common::merchant(&*store, "Other").await;
    let p = service.create(&scope, new_payment("10.00")).await.unwrap();
    let got = store.get_payment(&scope, &p.id).await.unwrap();
    assert_eq!(got, p);
    let foreign = Scope {
        merchant_id: other.id,
        livemode: false,
    };
    assert!(store.get_payment(&foreign, &p.id).await.is_err());
    let live = Scope {
        livemode: true,
        ..scope.clone()
    };
    assert!(store.get_payment(&live, &p.id).await.is_err());
    assert_eq!(
        events(&*store, &scope, &p.id).await,
        vec!["payment.created"]
    );
    assert!(store
        .list_events(
            &foreign,
            &EventFilter {
                limit: 10,
                ..Default::default()
            }
        )
        .await
        .unwrap()
        .is_empty());
}

async fn listing_pages_newest_first_and_filters(backend: Backend) {
    let (_db, store, service, scope, _) = setup(backend).await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let mut input = new_payment("5.00");
        input.reference = Some(if i % 2 == 0 {
            "even".into()
        } else {
            "odd".into()
        });
        ids.push(service.create(&scope, input).await.unwrap().id);
    }
    ids.reverse();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list_payments(
                &scope,
                &PaymentFilter {
                    starting_after: after.clone(),
                    limit: 3,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        after = page.last().map(|p| p.id.clone());
        seen.extend(page.into_iter().map(|p| p.id));
    }
    assert_eq!(seen, ids, "pages walk every payment once, newest first");
    let evens = store
        .list_payments(
            &scope,
            &PaymentFilter {
                reference: Some("even".into()),
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(evens.len(), 4);
    service
        .cancel(&crate::common::operator(&scope), &ids[0])
        .await
        .unwrap();
    let canceled = store
        .list_payments(
            &scope,
            &PaymentFilter {
                status: Some(PaymentStatus::Canceled),
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(canceled.len(), 1);
    let future = store
        .list_payments(
            &scope,
            &PaymentFilter {
                created_gte: Some(Utc::now() + Duration::hours(1)),
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(future.is_empty());
}

async fn a_transition_happens_once(backend: Backend) {
    let (_db, store, service, scope, _) = setup(backend).await;
    let p = service.create(&scope, new_payment("10.00")).await.unwrap();
    let done = service.succeed(&scope, &p.id).await.unwrap();
    assert_eq!(done.status, PaymentStatus::Succeeded);
    assert!(service
        .cancel(&crate::common::operator(&scope), &p.id)
        .await
        .is_err());
    assert!(service.succeed(&scope, &p.id).await.is_err());
    assert_eq!(
        events(&*store, &scope, &p.id).await,
        vec!["payment.created", "payment.succeeded"]
    );
}

async fn concurrent_transitions_have_one_winner(backend: Backend) {
    let (_db, store, service, scope, _) = setup(backend).await;
    let p = service.create(&scope, new_payment("10.00")).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..50 {
        let service = service.clone();
        let scope = scope.clone();
        let id = p.id.clone();
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                service
                    .cancel(&crate::common::operator(&scope), &id)
                    .await
                    .is_ok()
            } else {
                service.succeed(&scope, &id).await.is_ok()
            }
        }));
    }
    let mut wins = 0;
    for t in tasks {
        if t.await.unwrap() {
            wins += 1;
        }
    }
    assert_eq!(wins, 1);
    assert_eq!(events(&*store, &scope, &p.id).await.len(), 2);
}

async fn overdue_payments_expire_once(backend: Backend) {
    let (_db, store, service, scope, _) = setup(backend).await;
    let mut input = new_payment("10.00");
    input.expires_in = Some(60);
    let p = service.create(&scope, input).await.unwrap();
    let build = |p: &hundi::domain::payment::Payment| hundi::store::NewEvent {
        id: hundi::domain::ids::new_id("evt"),
        key_id: None,
        event_type: "payment.expired".into(),
        object_id: p.id.clone(),
        payload: "{}".into(),
        created_at: Utc::now(),
        audit: None,
    };
    assert!(store
        .expire_due(Utc::now(), 100, &build)
        .await
        .unwrap()
        .is_empty());
    let later = Utc::now() + Duration::seconds(61);
    let (a, b) = tokio::join!(
        store.expire_due(later, 100, &build),
        store.expire_due(later, 100, &build)
    );
    let total = a.unwrap().len() + b.unwrap().len();
    assert_eq!(
        total, 1,
        "two workers together expire the payment exactly once"
    );
    let got = store.get_payment(&scope, &p.id).await.unwrap();
    assert_eq!(got.status, PaymentStatus::Expired);
    assert_eq!(
        events(&*store, &scope, &p.id).await,
        vec!["payment.created", "payment.expired"]
    );
}

async fn refunds_never_exceed_the_amount(backend: Backend) {
    let (_db, store, service, scope, _) = setup(backend).await;
    let p = service.create(&scope, new_payment("100.00")).await.unwrap();
    assert!(
        service
            .refund(&crate::common::operator(&scope), &p.id, Some("1.00"), None)
            .await
            .is_err(),
        "not paid yet"
    );
    service.succeed(&scope, &p.id).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let service = service.clone();
        let scope = scope.clone();
        let id = p.id.clone();
        tasks.push(tokio::spawn(async move {
            service
                .refund(&crate::common::operator(&scope), &id, Some("15.00"), None)
                .await
                .is_ok()
        }));
    }
    let mut ok = 0;
    for t in tasks {
        if t.await.unwrap() {
            ok += 1;
        }
    }
    assert_eq!(
        ok, 6,
        "six refunds of 15.00 fit in 100.00, the seventh does not"
    );
    let after = store.get_payment(&scope, &p.id).await.unwrap();
    assert_eq!(after.refunded_minor, 9000);
    assert_eq!(after.status, PaymentStatus::PartiallyRefunded);
    let (_, last) = service
        .refund(&crate::common::operator(&scope), &p.id, None, None)
        .await
        .unwrap();
    assert_eq!(last.amount.minor(), 1000, "no amount refunds the rest");
    let after = store.get_payment(&scope, &p.id).await.unwrap();
    assert_eq!(after.status, PaymentStatus::Refunded);
    let refund_events = events(&*store, &scope, &last.id).await;
    assert_eq!(refund_events, vec!["refund.succeeded"]);
    let revenue = store.key_revenue(Some(&scope.merchant_id)).await.unwrap();
    assert!(
        revenue.iter().all(|r| r.minor == 0),
        "fully refunded: no revenue"
    );
}

async fn idempotency_keys_claim_once(backend: Backend) {
    let (_db, store, _, scope, _) = setup(backend).await;
    let now = Utc::now();
    let expired = now - Duration::hours(24);
    let claims = futures::future::join_all((0..10).map(|i| {
        let token = format!("t{i}");
        let store = store.clone();
        let scope = scope.clone();
        async move {
            store
                .claim_idempotency_key(&scope, "k1", b"hash", &token, now, expired)
                .await
        }
    }))
    .await;
    let claimed: Vec<usize> = claims
        .iter()
        .enumerate()
        .filter(|(_, c)| matches!(c, Ok(IdempotencyClaim::Claimed)))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(claimed.len(), 1);
    let holder = format!("t{}", claimed[0]);
    let stored = StoredResponse {
        status: 201,
        body: b"{\"ok\":true}".to_vec(),
    };
    assert!(
        !store
            .complete_idempotency_key(&scope, "k1", "not-the-holder", &stored)
            .await
            .unwrap(),
        "only the holder keeps a response"
    );
    assert!(store
        .complete_idempotency_key(&scope, "k1", &holder, &stored)
        .await
        .unwrap());
    match store
        .claim_idempotency_key(&scope, "k1", b"hash", "t99", now, expired)
        .await
        .unwrap()
    {
        IdempotencyClaim::Existing {
            response,
            request_hash,
            ..
        } => {
            assert_eq!(response, Some(stored));
            assert_eq!(request_hash, b"hash".to_vec());
        }
        other => panic!("expected the stored response, got {other:?}"),
    }
    // A released (unfinished) claim can be taken again; a finished one is never released.
    assert!(matches!(
        store
            .claim_idempotency_key(&scope, "k2", b"h", "a", now, expired)
            .await
            .unwrap(),
        IdempotencyClaim::Claimed
    ));
    assert!(store
        .release_idempotency_key(&scope, "k2", "a")
        .await
        .unwrap());
    assert!(matches!(
        store
            .claim_idempotency_key(&scope, "k2", b"h", "b", now, expired)
            .await
            .unwrap(),
        IdempotencyClaim::Claimed
    ));
    assert!(!store
        .release_idempotency_key(&scope, "k1", &holder)
        .await
        .unwrap());
    assert!(matches!(
        store
            .claim_idempotency_key(&scope, "k1", b"hash", "c", now, expired)
            .await
            .unwrap(),
        IdempotencyClaim::Existing {
            response: Some(_),
            ..
        }
    ));
}

/// A stale claim is released only if it is still the one seen: when another request has
/// taken the key over in the meantime, its claim stays.
async fn a_changed_stale_claim_is_not_released(backend: Backend) {
    let (_db, store, _, scope, _) = setup(backend).await;
    let now = Utc::now();
    let expired = now - Duration::hours(24);
    let stale = now - Duration::minutes(5);
    store
        .claim_idempotency_key(&scope, "k", b"h", "dead", stale, expired)
        .await
        .unwrap();
    // Two retries see the dead claim; the first releases it and claims the key.
    assert!(store
        .release_idempotency_key(&scope, "k", "dead")
        .await
        .unwrap());
    assert_eq!(
        store
            .claim_idempotency_key(&scope, "k", b"h", "first", now, expired)
            .await
            .unwrap(),
        IdempotencyClaim::Claimed
    );
    // The second, late, releases what it saw: the dead claim, which is gone.
    assert!(!store
        .release_idempotency_key(&scope, "k", "dead")
        .await
        .unwrap());
    match store
        .claim_idempotency_key(&scope, "k", b"h", "second", now, expired)
        .await
        .unwrap()
    {
        IdempotencyClaim::Existing {
            token, response, ..
        } => {
            assert_eq!(token, "first", "the live claim is kept");
            assert_eq!(response, None);
        }
        other => panic!("the live claim was released: {other:?}"),
    }
}

/// The response of an Idempotency-Key is committed with the payment (or refund) it answers:
/// both or neither. A request whose claim was taken over writes nothing.
async fn a_create_and_its_key_commit_together(backend: Backend) {
    use hundi::service::idempotency::ClaimedKey;
    let (_db, store, service, scope, _) = setup(backend).await;
    let now = Utc::now();
    let expired = now - Duration::hours(24);
    store
        .claim_idempotency_key(&scope, "pay-1", b"h", "tok-1", now, expired)
        .await
        .unwrap();
    let held = ClaimedKey {
        key: "pay-1".into(),
        token: "tok-1".into(),
        status: 201,
    };
    let p = service
        .create_idempotent(&scope, new_payment("10.00"), Some(&held))
        .await
        .unwrap();
    match store
        .claim_idempotency_key(&scope, "pay-1", b"h", "retry", now, expired)
        .await
        .unwrap()
    {
        IdempotencyClaim::Existing {
            response: Some(r), ..
        } => {
            assert_eq!(r.status, 201);
            let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(body["id"], p.id.as_str());
            assert_eq!(body["amount"], "10.00");
        }
        other => panic!("the key was not completed with the payment: {other:?}"),
    }

    // A claim taken over by another request: the create fails and writes nothing.
    store
        .claim_idempotency_key(&scope, "pay-2", b"h", "slow", now, expired)
        .await
        .unwrap();
    assert!(store
        .release_idempotency_key(&scope, "pay-2", "slow")
        .await
        .unwrap());
    store
        .claim_idempotency_key(&scope, "pay-2", b"h", "retry", now, expired)
        .await
        .unwrap();
    let slow = ClaimedKey {
        key: "pay-2".into(),
        token: "slow".into(),
        status: 201,
    };
    let lost = service
        .create_idempotent(
            &scope,
            NewPayment {
                reference: Some("lost".into()),
                ..new_payment("11.00")
            },
            Some(&slow),
        )
        .await;
    assert!(lost.is_err(), "a lost claim writes nothing: {lost:?}");
    let listed = store
        .list_payments(
            &scope,
            &PaymentFilter {
                reference: Some("lost".into()),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(listed.is_empty(), "the payment was written: {listed:?}");

    // Refunds: the same.
    service.succeed(&scope, &p.id).await.unwrap();
    store
        .claim_idempotency_key(&scope, "re-1", b"h", "tok-r", now, expired)
        .await
        .unwrap();
    let held = ClaimedKey {
        key: "re-1".into(),
        token: "tok-r".into(),
        status: 201,
    };
    let (_, refund) = service
        .refund_idempotent(
            &crate::common::operator(&scope),
            &p.id,
            Some("1.00"),
            None,
            Some(&held),
        )
        .await
        .unwrap();
    match store
        .claim_idempotency_key(&scope, "re-1", b"h", "retry", now, expired)
        .await
        .unwrap()
    {
        IdempotencyClaim::Existing {
            response: Some(r), ..
        } => {
            let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(body["id"], refund.id.as_str());
        }
        other => panic!("the key was not completed with the refund: {other:?}"),
    }
    let lost = service
        .refund_idempotent(
            &crate::common::operator(&scope),
            &p.id,
            Some("2.00"),
            None,
            Some(&held),
        )
        .await;
    assert!(lost.is_err(), "a finished key completes nothing twice");
    let after = store.get_payment(&scope, &p.id).await.unwrap();
    assert_eq!(
        after.refunded_minor, 100,
        "only the first refund was written"
    );
}

/// Keys live 24 hours: an older one is purged, and counts as new even before the purge.
async fn idempotency_keys_expire_after_a_day(backend: Backend) {
    let (_db, store, service, scope, _) = setup(backend).await;
    let now = Utc::now();
    let expired = now - Duration::hours(24);
    let old = now - Duration::hours(25);
    let stored = StoredResponse {
        status: 201,
        body: b"{}".to_vec(),
    };
    for (key, at) in [
        ("old-1", old),
        ("old-2", old),
        ("young", now - Duration::hours(23)),
    ] {
        store
            .claim_idempotency_key(&scope, key, b"h", "t", at, at - Duration::hours(24))
            .await
            .unwrap();
        store
            .complete_idempotency_key(&scope, key, "t", &stored)
            .await
            .unwrap();
    }
    // Before any purge, a 25-hour-old key is new again (even with another body).
    assert_eq!(
        store
            .claim_idempotency_key(&scope, "old-2", b"other", "t2", now, expired)
            .await
            .unwrap(),
        IdempotencyClaim::Claimed
    );
    assert_eq!(service.purge_idempotency_keys(now).await.unwrap(), 1);
    assert_eq!(
        store
            .claim_idempotency_key(
                &scope,
                "old-1",
                b"other",
                "t3",
                now,
                now - Duration::days(30)
            )
            .await
            .unwrap(),
        IdempotencyClaim::Claimed,
        "the purged key is gone"
    );
    assert!(matches!(
        store
            .claim_idempotency_key(&scope, "young", b"h", "t4", now, expired)
            .await
            .unwrap(),
        IdempotencyClaim::Existing {
            response: Some(_),
            ..
        }
    ));
}

async fn key_revenue_counts_paid_payments(backend: Backend) {
    let (_db, store, service, scope, m) = setup(backend).await;
    let key = store
        .find_key_by_hash(&hash_secret(&m.test_key))
        .await
        .unwrap();
    for amount in ["10.00", "20.50", "5.00"] {
        let mut input = new_payment(amount);
        input.key_id = Some(key.id.clone());
        let p = service.create(&scope, input).await.unwrap();
        if amount != "5.00" {
            service.succeed(&scope, &p.id).await.unwrap();
        }
    }
    let revenue = store.key_revenue(Some(&m.id)).await.unwrap();
    assert_eq!(revenue.len(), 1);
    assert_eq!(revenue[0].key_id, key.id);
    assert_eq!(revenue[0].currency, "PKR");
    assert_eq!(revenue[0].minor, 3050);
}

/// Concurrent inserts all land; a bad one (a duplicate id) fails alone, with `Duplicate`.
async fn concurrent_inserts_fail_alone(backend: Backend) {
    let (_db, store, service, scope, _) = setup(backend).await;
    let existing = service.create(&scope, new_payment("1.00")).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..50 {
        let (store, scope) = (store.clone(), scope.clone());
        let mut p = existing.clone();
        if i != 25 {
            p.id = hundi::domain::ids::new_id("pay");
        }
        p.reference = Some(format!("r{i}"));
        tasks.push(tokio::spawn(async move {
            let event = hundi::store::NewEvent {
                id: hundi::domain::ids::new_id("evt"),
                key_id: None,
                event_type: "payment.created".into(),
                object_id: p.id.clone(),
                payload: "{}".into(),
                created_at: Utc::now(),
                audit: None,
            };
            let result = store.insert_payment(&p, &event).await;
            (i, p.id, result, scope)
        }));
    }
    for t in tasks {
        let (i, id, result, scope) = t.await.unwrap();
        if i == 25 {
            assert!(
                matches!(result, Err(hundi::store::StoreError::Duplicate(_))),
                "{result:?}"
            );
            let kept = store.get_payment(&scope, &id).await.unwrap();
            assert_eq!(kept.reference, None, "the original row is untouched");
        } else {
            result.unwrap();
            let got = store.get_payment(&scope, &id).await.unwrap();
            assert_eq!(got.reference, Some(format!("r{i}")));
        }
    }
    let all = store
        .list_payments(
            &scope,
            &PaymentFilter {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(all.len(), 50);
}

on_both_backends!(
    concurrent_inserts_fail_alone,
    migrations_apply_twice,
    keys_are_found_by_hash_and_revoked,
    payments_are_scoped_to_merchant_and_mode,
    listing_pages_newest_first_and_filters,
    a_transition_happens_once,
    concurrent_transitions_have_one_winner,
    overdue_payments_expire_once,
    refunds_never_exceed_the_amount,
    idempotency_keys_claim_once,
    a_changed_stale_claim_is_not_released,
    a_create_and_its_key_commit_together,
    idempotency_keys_expire_after_a_day,
    key_revenue_counts_paid_payments,
);

/// A dialect's payment keeps its own id, its verbatim fields and its source.
async fn dialect_fields_round_trip(backend: Backend) {
    let (_db, store, service, scope, _) = setup(backend).await;
    let data = r#"{"metadata":{"qty":2,"coupon":null}}"#;
    let created = service
        .create(
            &scope,
            NewPayment {
                id: Some("0123456789ABCDEF".into()),
                dialect_data: Some(data.into()),
                source: "paygate".into(),
                ..new_payment("10.00")
            },
        )
        .await
        .unwrap();
    let read = store.get_payment(&scope, "0123456789ABCDEF").await.unwrap();
    assert_eq!(read, created);
    assert_eq!(read.dialect_data.as_deref(), Some(data));
    assert_eq!(read.source, "paygate");
    let listed = store
        .list_payments(
            &scope,
            &hundi::store::PaymentFilter {
                source: Some("paygate".into()),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
}

/// Dialect credentials: written sealed, replaced by a rotation, found by public id.
async fn credentials_are_sealed_and_rotated(backend: Backend) {
    let (_db, store, _, scope, _) = setup(backend).await;
    let secrets = hundi::secrets::SecretBox::random();
    let sources = hundi::dialects::registry().sources();
    let credentials = hundi::service::credentials::Credentials::new(store.clone(), secrets.clone());
    let xpay_hmac = hundi::service::credentials::kind(&sources, "xpay_hmac").unwrap();
    let first = credentials
        .create(&crate::common::operator(&scope), xpay_hmac)
        .await
        .unwrap();
    let account = first.public_id.clone().unwrap();
    let stored = store.get_credential(&scope, "xpay_hmac").await.unwrap();
    assert!(!stored.sealed.contains(&first.secret), "stored sealed");
    assert_eq!(
        hundi::service::credentials::open(&secrets, &stored).unwrap(),
        first.secret
    );
    assert_eq!(
        store
            .find_credential("xpay_hmac", &account)
            .await
            .unwrap()
            .merchant_id,
        scope.merchant_id
    );
    let second = credentials
        .create(&crate::common::operator(&scope), xpay_hmac)
        .await
        .unwrap();
    assert_ne!(second.secret, first.secret);
    let (_, now) = credentials
        .read(&scope, "xpay_hmac")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(now, second.secret);
    assert!(store.find_credential("xpay_hmac", &account).await.is_err());
    assert_eq!(store.list_credentials(&scope).await.unwrap().len(), 1);
    assert!(hundi::service::credentials::kind(&sources, "nope").is_err());
}

on_both_backends!(
    dialect_fields_round_trip,
    credentials_are_sealed_and_rotated
);

/// A key's rate limit is stored with it: set at creation, changed, cleared.
async fn key_rate_limits_round_trip(backend: Backend) {
    let (_db, store, _, _, m) = setup(backend).await;
    let created = hundi::service::keys::create_key(
        &*store,
        &hundi::service::access::Acting::cli(&m.id.clone(), false),
        hundi::service::keys::NewKey {
            mode: hundi::domain::key::Mode::Test,
            label: "limited".into(),
            permissions: vec![hundi::domain::key::Permission::PaymentsCreate],
            webhook_url: None,
            rate_limit: Some(7),
            allow_private: false,
        },
    )
    .await
    .unwrap();
    let found = store
        .find_key_by_hash(&hash_secret(&created.secret))
        .await
        .unwrap();
    assert_eq!(found.rate_limit, Some(7));
    let changed = store
        .set_key_rate_limit(&found.id, Some(1_000_000), None)
        .await
        .unwrap();
    assert_eq!(changed.rate_limit, Some(1_000_000));
    let cleared = store
        .set_key_rate_limit(&found.id, None, None)
        .await
        .unwrap();
    assert_eq!(cleared.rate_limit, None);
    assert!(store
        .set_key_rate_limit("key_nope", Some(5), None)
        .await
        .is_err());
    // A key's update writes its rate limit together with its permissions, in one statement.
    let mut both = cleared.clone();
    both.rate_limit = Some(42);
    both.permissions = vec![hundi::domain::key::Permission::PaymentsRead];
    let (updated, _) = KeyStore::update_key(&*store, &both, None, hundi::domain::now(), None)
        .await
        .unwrap();
    assert_eq!(updated.rate_limit, Some(42));
    assert_eq!(updated.permissions, both.permissions);
    let default = store
        .find_key_by_hash(&hash_secret(&m.test_key))
        .await
        .unwrap();
    assert_eq!(default.rate_limit, None);
}

/// A bucket starts full, hands out whole tokens up to what it holds, refills at its rate,
/// and concurrent takers never get more than it holds between them.
async fn rate_buckets_hand_out_what_they_hold(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let first = store.take_rate_tokens("key:a", 1, 10, 4).await.unwrap();
    assert_eq!(first.granted, 4);
    assert!((5.9..=6.1).contains(&first.left), "{first:?}");
    let rest = store.take_rate_tokens("key:a", 1, 10, 50).await.unwrap();
    assert_eq!(rest.granted, 6, "{rest:?}");
    let none = store.take_rate_tokens("key:a", 1, 10, 1).await.unwrap();
    assert_eq!(none.granted, 0, "{none:?}");
    assert!(none.left < 1.0);
    // Another bucket is its own.
    assert_eq!(
        store
            .take_rate_tokens("key:b", 1, 2, 5)
            .await
            .unwrap()
            .granted,
        2
    );
    // 20 a second: a token is back within 100 ms.
    store.take_rate_tokens("key:c", 20, 2, 2).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(120)).await;
    assert_eq!(
        store
            .take_rate_tokens("key:c", 20, 2, 1)
            .await
            .unwrap()
            .granted,
        1
    );
    // Sixteen takers at once from a bucket of 20 (refilling 1 a second): 20 or 21 tokens
    // in all, never 16 × 3.
    let mut takers = Vec::new();
    for _ in 0..16 {
        let store = store.clone();
        takers.push(tokio::spawn(async move {
            store
                .take_rate_tokens("key:d", 1, 20, 3)
                .await
                .unwrap()
                .granted
        }));
    }
    let mut total = 0;
    for t in takers {
        total += t.await.unwrap();
    }
    assert!((20..=21).contains(&total), "{total} tokens handed out");
    // Idle buckets are forgotten (and would start full again).
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert!(
        store
            .prune_rate_buckets(std::time::Duration::from_millis(10))
            .await
            .unwrap()
            >= 4
    );
    assert_eq!(
        store
            .take_rate_tokens("key:a", 1, 10, 10)
            .await
            .unwrap()
            .granted,
        10
    );
}

fn inserted_event(p: &hundi::domain::payment::Payment) -> hundi::store::NewEvent {
    hundi::store::NewEvent {
        id: hundi::domain::ids::new_id("evt"),
        key_id: None,
        event_type: "payment.created".into(),
        object_id: p.id.clone(),
        payload: "{}".into(),
        created_at: Utc::now(),
        audit: None,
    }
}

/// UPI payable amounts are held per UPI id and per mode: a test payment and a live one may
/// ask for the same amount, two pending payments of one mode may not (the unique index, not
/// a read), and `pending_payables` reads one mode only.
async fn upi_payables_are_unique_per_mode(backend: Backend) {
    let (_db, store, service, test, m) = setup(backend).await;
    hundi::service::merchants::set_upi(
        &*store,
        &hundi::service::access::Acting::cli(&m.id, false),
        Some("shop@okaxis"),
        Some("Shop"),
    )
    .await
    .unwrap();
    let live = Scope {
        livemode: true,
        ..test.clone()
    };
    let inr = |amount: &str| NewPayment {
        currency: "INR".into(),
        ..new_payment(amount)
    };
    let t = service.create(&test, inr("100.00")).await.unwrap();
    let l = service.create(&live, inr("100.00")).await.unwrap();
    let payable = |p: &hundi::domain::payment::Payment| p.transfer.as_ref().unwrap().payable_minor;
    assert_eq!(payable(&t), 9900);
    assert_eq!(
        payable(&l),
        9900,
        "a test payment never pushes a live one down"
    );
    let t2 = service.create(&test, inr("100.00")).await.unwrap();
    assert_eq!(payable(&t2), 9899);
    assert_eq!(
        store
            .pending_payables("shop@okaxis", false, 9800, 9900)
            .await
            .unwrap(),
        vec![9900, 9899]
    );
    assert_eq!(
        store
            .pending_payables("shop@okaxis", true, 9800, 9900)
            .await
            .unwrap(),
        vec![9900]
    );
    // The index itself refuses a second pending live payment asking for 99.00.
    let mut twin = l.clone();
    twin.id = hundi::domain::ids::new_id("pay");
    let refused = store.insert_payment(&twin, &inserted_event(&twin)).await;
    assert!(
        matches!(refused, Err(hundi::store::StoreError::Duplicate(_))),
        "{refused:?}"
    );
    // Once the live payment is no longer pending, its amount is free in live mode again.
    service
        .cancel(&crate::common::operator(&live), &l.id)
        .await
        .unwrap();
    store
        .insert_payment(&twin, &inserted_event(&twin))
        .await
        .unwrap();
}

/// A credit matched by hand records the shortfall a dashboard user accepted: how much, who,
/// when; a credit matched in full records none.
async fn a_manual_match_records_the_accepted_shortfall(backend: Backend) {
    let (_db, store, service, scope, m) = setup(backend).await;
    hundi::service::merchants::set_upi(
        &*store,
        &hundi::service::access::Acting::cli(&m.id, false),
        Some("shop@okaxis"),
        Some("Shop"),
    )
    .await
    .unwrap();
    let p = service
        .create(
            &scope,
            NewPayment {
                currency: "INR".into(),
                ..new_payment("10.00")
            },
        )
        .await
        .unwrap();
    let credit = |utr: &str, amount: &str| hundi::service::upi::NewCredit {
        utr: utr.into(),
        amount: amount.into(),
        ..Default::default()
    };
    let (short, none) = service
        .record_credit(&scope, credit("410500000001", "7.00"))
        .await
        .unwrap();
    assert!(none.is_none());
    let consent = hundi::service::upi::ShortfallConsent {
        user: "owner@shop.example".into(),
        shortfall: "2.00".into(),
    };
    let (matched, paid) = service
        .match_credit(
            &crate::common::operator(&scope),
            &short.id,
            &p.id,
            Some(consent),
        )
        .await
        .unwrap();
    assert_eq!(paid.status, PaymentStatus::Succeeded);
    let got = store.get_credit(&scope, &matched.id).await.unwrap();
    let accepted = got.shortfall.expect("the shortfall is recorded");
    assert_eq!(accepted.amount.to_string(), "2.00");
    assert_eq!(accepted.accepted_by, "owner@shop.example");
    assert!((Utc::now() - accepted.accepted_at).num_seconds().abs() < 60);
    assert_eq!(got.matched_at, Some(accepted.accepted_at));
    let listed = store
        .list_credits(
            &scope,
            &hundi::store::CreditFilter {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(listed[0].shortfall.is_some());
    let (full, _) = service
        .record_credit(&scope, credit("410500000002", "5.00"))
        .await
        .unwrap();
    assert_eq!(
        store.get_credit(&scope, &full.id).await.unwrap().shortfall,
        None
    );
}

async fn users_sessions_and_the_sign_in_throttle(backend: Backend) {
    use hundi::domain::merchant::User;
    use hundi::domain::session::Session;
    use hundi::store::ThrottleRule;
    let (_db, store, _, scope, _) = setup(backend).await;
    // Whole microseconds, as stored.
    let now = chrono::DateTime::from_timestamp_micros(Utc::now().timestamp_micros()).unwrap();
    let user = User {
        id: "usr_conformance".into(),
        merchant_id: scope.merchant_id.clone(),
        email: "Owner@Shop.example".into(),
        password_hash: "hash".into(),
        role: hundi::domain::role::Role::Owner,
        created_at: now,
    };
    store.create_user(&user, None).await.unwrap();
    let found = store.find_user_by_email(" owner@shop.EXAMPLE ").await;
    assert_eq!(found.unwrap().id, user.id, "e-mail is matched without case");
    assert_eq!(store.list_users(&scope.merchant_id).await.unwrap().len(), 1);
    let session = |token: &str, expires_at| Session {
        token_hash: token.into(),
        user_id: user.id.clone(),
        merchant_id: scope.merchant_id.clone(),
        csrf: "csrf".into(),
        livemode: false,
        created_at: now,
        expires_at,
        stage: hundi::domain::session::Stage::Full,
    };
    store
        .create_session(&session("live", now + Duration::hours(1)), None)
        .await
        .unwrap();
    store
        .create_session(&session("old", now - Duration::seconds(1)), None)
        .await
        .unwrap();
    assert!(
        store.get_session("old", now).await.is_err(),
        "an expired session is gone"
    );
    store.set_session_mode("live", true).await.unwrap();
    let got = store.get_session("live", now).await.unwrap();
    assert!(got.livemode);
    assert_eq!(
        got.expires_at.timestamp_micros(),
        (now + Duration::hours(1)).timestamp_micros()
    );
    store.delete_session("live").await.unwrap();
    assert!(store.get_session("live", now).await.is_err());

    let rule = ThrottleRule {
        free: 2,
        window: Duration::minutes(15),
        first_wait: Duration::seconds(30),
        max_wait: Duration::minutes(15),
    };
    let subject = "email:owner@shop.example";
    assert_eq!(
        store.claim_throttle(subject, &rule, now).await.unwrap(),
        None
    );
    assert_eq!(
        store.claim_throttle(subject, &rule, now).await.unwrap(),
        None
    );
    let until = store.claim_throttle(subject, &rule, now).await.unwrap();
    let until = until.expect("the try that used up the free ones blocks the next");
    assert_eq!((until - now).num_seconds(), 30);
    let later = until + Duration::seconds(1);
    assert_eq!(
        store.claim_throttle(subject, &rule, later).await.unwrap(),
        None
    );
    let doubled = store.claim_throttle(subject, &rule, later).await.unwrap();
    assert_eq!((doubled.expect("blocked again") - later).num_seconds(), 60);
    store.clear_throttle(subject).await.unwrap();
    assert_eq!(
        store.claim_throttle(subject, &rule, later).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .purge_throttle(later + Duration::days(1), later + Duration::days(1))
            .await
            .unwrap(),
        1
    );

    store
        .remember_sign_in("owner@shop.example", "192.0.2.1", now)
        .await
        .unwrap();
    let since = now - Duration::minutes(1);
    assert!(store
        .signed_in_from("owner@shop.example", "192.0.2.1", since)
        .await
        .unwrap());
    assert!(!store
        .signed_in_from("owner@shop.example", "192.0.2.2", since)
        .await
        .unwrap());
    assert_eq!(
        store
            .purge_sign_ins(now + Duration::seconds(1))
            .await
            .unwrap(),
        1
    );
}

async fn deliveries_are_leased_once_and_logged(backend: Backend) {
    use hundi::domain::webhook::{Endpoint, FORMAT_NATIVE};
    use hundi::store::{AttemptLog, DeliveryOutcome, FinishedDelivery, Page};
    let (_db, store, service, scope, _) = setup(backend).await;
    let now = Utc::now();
    let endpoint = Endpoint {
        id: "we_conformance".into(),
        merchant_id: scope.merchant_id.clone(),
        livemode: false,
        url: "http://127.0.0.1:9/hook".into(),
        description: None,
        events: vec!["*".into()],
        enabled: true,
        secret: "whsec_c2VjcmV0".into(),
        previous_secret: None,
        previous_secret_until: None,
        failing_since: None,
        disabled_reason: None,
        key_id: None,
        format: FORMAT_NATIVE.into(),
        payment_id: None,
        created_at: now,
        updated_at: now,
    };
    store.create_endpoint(&endpoint, None).await.unwrap();
    assert_eq!(
        store.get_endpoint(&scope, &endpoint.id).await.unwrap().url,
        endpoint.url
    );
    let p = service.create(&scope, new_payment("10.00")).await.unwrap();
    let due = Utc::now() + Duration::seconds(1);
    let jobs = store
        .claim_deliveries(due, due + Duration::minutes(1), 10)
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1, "one delivery for the one endpoint");
    assert_eq!(
        (jobs[0].object_id.as_str(), jobs[0].url.as_str()),
        (p.id.as_str(), endpoint.url.as_str())
    );
    let again = store
        .claim_deliveries(due, due + Duration::minutes(1), 10)
        .await
        .unwrap();
    assert!(
        again.is_empty(),
        "a leased delivery is not handed out twice"
    );
    let log = AttemptLog {
        id: "wha_conformance".into(),
        attempted_at: due,
        status_code: Some(200),
        latency_ms: 12,
        response_body: Some("ok".into()),
        error: None,
    };
    let page = Page {
        starting_after: None,
        limit: 10,
    };
    // The first lease runs out and another node takes the delivery over: the first node's
    // late result is logged (the request was sent) but leaves the delivery to the second.
    let later = due + Duration::minutes(2);
    let taken = store
        .claim_deliveries(later, later + Duration::minutes(1), 10)
        .await
        .unwrap();
    assert_eq!(taken.len(), 1, "a lease that ran out is handed out again");
    let late = FinishedDelivery {
        job: jobs[0].clone(),
        log: AttemptLog {
            id: "wha_late".into(),
            ..log.clone()
        },
        outcome: DeliveryOutcome::Succeeded,
    };
    store.finish_deliveries(&[late]).await.unwrap();
    let listed = store
        .list_deliveries(&scope, &jobs[0].event_id, &page)
        .await
        .unwrap();
    assert_eq!(listed[0].status, "pending", "still the second node's");
    assert_eq!(listed[0].log.len(), 1);
    let done = FinishedDelivery {
        job: taken[0].clone(),
        log: log.clone(),
        outcome: DeliveryOutcome::Succeeded,
    };
    store.finish_deliveries(&[done]).await.unwrap();
    let listed = store
        .list_deliveries(&scope, &jobs[0].event_id, &page)
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].status, "succeeded");
    assert_eq!(listed[0].log.len(), 2);
    assert_eq!(listed[0].log[0].status_code, Some(200));
    assert_eq!(
        store
            .recent_deliveries(&scope, None, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        store
            .redeliver(&scope, &jobs[0].event_id, Utc::now(), None)
            .await
            .unwrap(),
        1
    );
}

/// A stopping node hands back the deliveries it leased and did not send: claimable again at
/// once. Only its own lease is cleared: a delivery another node re-leased after that lease
/// ran out, or one already finished, is left alone.
async fn released_deliveries_are_claimable_at_once(backend: Backend) {
    use hundi::store::{AttemptLog, DeliveryOutcome, FinishedDelivery};
    let (_db, store, service, scope, _) = setup(backend).await;
    unreachable_endpoint(&*store, &scope, &["*"]).await;
    for _ in 0..2 {
        service.create(&scope, new_payment("10.00")).await.unwrap();
    }
    let due = Utc::now() + Duration::seconds(1);
    // This node's lease, and a shorter one of another node's that runs out.
    let (mine, short) = (due + Duration::minutes(10), due + Duration::minutes(1));
    let held = store.claim_deliveries(due, mine, 1).await.unwrap();
    let lapsed = store.claim_deliveries(due, short, 1).await.unwrap();
    assert_eq!((held.len(), lapsed.len()), (1, 1));
    assert_ne!(held[0].delivery_id, lapsed[0].delivery_id);
    let later = short + Duration::seconds(1);
    let retaken = store
        .claim_deliveries(later, later + Duration::minutes(5), 10)
        .await
        .unwrap();
    assert_eq!(retaken.len(), 1, "only the lapsed lease is taken again");
    assert_eq!(retaken[0].delivery_id, lapsed[0].delivery_id);

    assert_eq!(store.release_deliveries(&[], mine).await.unwrap(), 0);
    assert_eq!(
        store
            .release_deliveries(&[lapsed[0].delivery_id.clone()], short)
            .await
            .unwrap(),
        0,
        "a delivery re-leased by another node is not handed back by the first"
    );
    assert!(
        store
            .claim_deliveries(due, due + Duration::minutes(1), 10)
            .await
            .unwrap()
            .is_empty(),
        "both are leased"
    );
    let ids = [held[0].delivery_id.clone(), lapsed[0].delivery_id.clone()];
    assert_eq!(
        store.release_deliveries(&ids, mine).await.unwrap(),
        1,
        "only the delivery still under this lease is handed back"
    );
    let again = store
        .claim_deliveries(due, due + Duration::minutes(1), 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1, "the handed-back delivery is due at once");
    assert_eq!(again[0].delivery_id, held[0].delivery_id);

    let done = FinishedDelivery {
        job: again[0].clone(),
        log: AttemptLog {
            id: "wha_released".into(),
            attempted_at: due,
            status_code: Some(200),
            latency_ms: 3,
            response_body: None,
            error: None,
        },
        outcome: DeliveryOutcome::Succeeded,
    };
    store.finish_deliveries(&[done]).await.unwrap();
    assert_eq!(
        store
            .release_deliveries(&[held[0].delivery_id.clone()], due + Duration::minutes(1))
            .await
            .unwrap(),
        0,
        "a finished delivery is left alone"
    );
    assert!(store
        .claim_deliveries(due, due + Duration::minutes(1), 10)
        .await
        .unwrap()
        .is_empty());
}

async fn attempts_are_counted_and_finished_once(backend: Backend) {
    use hundi::domain::attempt::{Attempt, AttemptStatus};
    let (_db, store, service, scope, _) = setup(backend).await;
    let p = service.create(&scope, new_payment("10.00")).await.unwrap();
    let now = Utc::now();
    let attempt = |id: &str| Attempt {
        id: id.into(),
        payment_id: p.id.clone(),
        method: "card".into(),
        status: AttemptStatus::RequiresOtp,
        card_brand: Some("visa".into()),
        card_last4: Some("4242".into()),
        wallet_last4: None,
        failure_code: None,
        failure_message: None,
        created_at: now,
        updated_at: now,
    };
    assert!(store
        .insert_attempt(&attempt("att_1"), 2)
        .await
        .unwrap()
        .is_some());
    assert!(store
        .insert_attempt(&attempt("att_2"), 2)
        .await
        .unwrap()
        .is_some());
    assert!(
        store
            .insert_attempt(&attempt("att_3"), 2)
            .await
            .unwrap()
            .is_none(),
        "the third is refused"
    );
    let mut declined = attempt("att_1");
    declined.status = AttemptStatus::Declined;
    let from = AttemptStatus::RequiresOtp;
    assert!(store
        .finish_attempt(&declined, from)
        .await
        .unwrap()
        .is_some());
    assert!(
        store
            .finish_attempt(&declined, from)
            .await
            .unwrap()
            .is_none(),
        "once only"
    );
    let got = store.get_attempt(&p.id, "att_1").await.unwrap();
    assert_eq!(got.status, AttemptStatus::Declined);
    assert_eq!(store.list_attempts(&p.id).await.unwrap().len(), 2);
}

async fn key_changes_reach_watchers(backend: Backend) {
    let (_db, store, _, scope, _) = setup(backend).await;
    let mut changes = store.watch_keys().await.unwrap();
    let keys = store.list_keys(Some(&scope.merchant_id)).await.unwrap();
    store
        .revoke_key(&keys[0].id, Utc::now(), None)
        .await
        .unwrap();
    let wait = match backend {
        Backend::Postgres => std::time::Duration::from_secs(5),
        Backend::Sqlite => std::time::Duration::from_millis(200),
    };
    let heard = tokio::time::timeout(wait, changes.recv()).await;
    match backend {
        // Every node hears of it through LISTEN/NOTIFY.
        Backend::Postgres => assert_eq!(
            heard.expect("heard in time").unwrap(),
            hundi::store::KeyChange::Key(keys[0].id.clone())
        ),
        // One process: nothing to hear (the code that revokes forgets its own copy).
        Backend::Sqlite => assert!(heard.is_err()),
    }
}

/// A key's own webhook endpoint is written with the key, in one transaction: it follows the
/// key's URL (keeping its secret), goes with it, and a key's first URL creates it; a key
/// whose endpoint cannot be written is not written either.
async fn a_keys_endpoint_follows_it_in_one_transaction(backend: Backend) {
    use hundi::service::keys::{change_key, create_key, KeyChanges, NewKey};
    let (_db, store, _, scope, m) = setup(backend).await;
    let perms = vec![hundi::domain::key::Permission::PaymentsRead];
    let new = NewKey {
        webhook_url: Some("http://127.0.0.1:9/one".into()),
        allow_private: true,
        ..NewKey::new(hundi::domain::key::Mode::Test, "plugin", perms.clone())
    };
    let created = create_key(&*store, &crate::common::operator(&scope), new)
        .await
        .unwrap();
    let first = own_endpoints(&*store, &scope, &created.key.id).await;
    assert_eq!(first.len(), 1);
    assert_eq!(Some(&first[0].secret), created.webhook_secret.as_ref());
    // A new URL moves the endpoint and keeps its secret.
    let two = Some("http://127.0.0.1:9/two".to_string());
    let (key, fresh) = change_key(
        &*store,
        None,
        &crate::common::operator(&scope),
        &created.key.id,
        KeyChanges {
            permissions: perms.clone(),
            webhook_url: two.clone(),
            rate_limit: None,
        },
        true,
    )
    .await
    .unwrap();
    assert_eq!((key.webhook_url.clone(), fresh), (two, None));
    let moved = own_endpoints(&*store, &scope, &key.id).await;
    assert_eq!((moved.len(), &moved[0].id), (1, &first[0].id));
    assert_eq!(
        (moved[0].url.as_str(), &moved[0].secret),
        ("http://127.0.0.1:9/two", &first[0].secret)
    );
    // No URL removes it; a URL again makes a new one with a new secret.
    let (key, _) = change_key(
        &*store,
        None,
        &crate::common::operator(&scope),
        &key.id,
        KeyChanges {
            permissions: perms.clone(),
            webhook_url: None,
            rate_limit: None,
        },
        true,
    )
    .await
    .unwrap();
    assert!(own_endpoints(&*store, &scope, &key.id).await.is_empty());
    let three = Some("http://127.0.0.1:9/three".to_string());
    let (key, fresh) = change_key(
        &*store,
        None,
        &crate::common::operator(&scope),
        &key.id,
        KeyChanges {
            permissions: perms.clone(),
            webhook_url: three,
            rate_limit: None,
        },
        true,
    )
    .await
    .unwrap();
    let again = own_endpoints(&*store, &scope, &key.id).await;
    assert_eq!(again.len(), 1);
    assert_eq!(fresh.as_ref(), Some(&again[0].secret));
    assert_ne!(again[0].id, first[0].id);
    // An endpoint that cannot be written (its id is taken) takes the key down with it.
    let mut doomed = created.key.clone();
    doomed.id = "key_doomed".into();
    doomed.secret_hash = vec![7; 32];
    let mut clash = again[0].clone();
    clash.key_id = Some(doomed.id.clone());
    assert!(store.create_key(&doomed, Some(&clash), None).await.is_err());
    let keys = store.list_keys(Some(&m.id)).await.unwrap();
    assert!(keys.iter().all(|k| k.id != "key_doomed"));
}

/// The live endpoints of one key.
async fn own_endpoints(
    store: &dyn Store,
    scope: &Scope,
    key_id: &str,
) -> Vec<hundi::domain::webhook::Endpoint> {
    let page = hundi::store::Page {
        starting_after: None,
        limit: 100,
    };
    let all = store.list_endpoints(scope, &page).await.unwrap();
    all.into_iter()
        .filter(|e| e.key_id.as_deref() == Some(key_id))
        .collect()
}

/// Moves a row's time `days` into the past, straight in the database (time passing).
async fn shift_back(url: &str, table: &str, column: &str, id: (&str, &str), days: i64) {
    let (id_column, id_value) = id;
    if url.starts_with("postgres") {
        let sql = format!(
            "UPDATE {table} SET {column} = {column} - $1 * INTERVAL '1 day' WHERE {id_column} = $2"
        );
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query(&sql)
            .bind(days as f64)
            .bind(id_value)
            .execute(&pool)
            .await
            .unwrap();
    } else {
        let sql = format!(
            "UPDATE {table} SET {column} = {column} - $1 * 86400000000 WHERE {id_column} = $2"
        );
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        sqlx::query(&sql)
            .bind(days)
            .bind(id_value)
            .execute(&pool)
            .await
            .unwrap();
    }
}

/// Retention removes what is past its keep and nothing else: old attempts, old finished
/// deliveries with their attempts, old events with their finished deliveries; never a
/// pending delivery or its event, never a payment. The dry run counts what the prune removes.
async fn webhook_history_is_pruned_past_its_keep(backend: Backend) {
    use hundi::domain::retention::{Pruned, Retention};
    use hundi::store::{AttemptLog, DeliveryOutcome, FinishedDelivery, Page};
    let (db, store, service, scope, _) = setup(backend).await;
    let now = hundi::domain::now();
    unreachable_endpoint(&*store, &scope, &["*"]).await;
    let mut payments = Vec::new();
    for _ in 0..3 {
        payments.push(service.create(&scope, new_payment("10.00")).await.unwrap());
    }
    let due = Utc::now() + Duration::seconds(1);
    let jobs = store
        .claim_deliveries(due, due + Duration::minutes(1), 10)
        .await
        .unwrap();
    assert_eq!(jobs.len(), 3);
    let finished: Vec<FinishedDelivery> = jobs
        .iter()
        .map(|job| {
            let pending = job.object_id == payments[2].id;
            FinishedDelivery {
                job: job.clone(),
                log: AttemptLog {
                    id: format!("wha_{}", job.delivery_id),
                    attempted_at: due,
                    status_code: Some(if pending { 500 } else { 200 }),
                    latency_ms: 5,
                    response_body: None,
                    error: None,
                },
                outcome: if pending {
                    DeliveryOutcome::Retry {
                        at: due + Duration::hours(1),
                    }
                } else {
                    DeliveryOutcome::Succeeded
                },
            }
        })
        .collect();
    store.finish_deliveries(&finished).await.unwrap();
    // The first payment's history is 400 days old, the second's 100; the third's delivery,
    // 400 days old too, is still pending.
    for (job, days) in jobs.iter().map(|j| {
        let days = if j.object_id == payments[1].id {
            100
        } else {
            400
        };
        (j, days)
    }) {
        shift_back(&db.url, "events", "created_at", ("id", &job.event_id), days).await;
        shift_back(
            &db.url,
            "webhook_deliveries",
            "created_at",
            ("id", &job.delivery_id),
            days,
        )
        .await;
        shift_back(
            &db.url,
            "webhook_attempts",
            "attempted_at",
            ("delivery_id", &job.delivery_id),
            days,
        )
        .await;
    }
    let keep = Retention {
        attempts: Retention::parse("90d").unwrap(),
        deliveries: Retention::parse("365d").unwrap(),
        events: Retention::parse("365d").unwrap(),
    };
    let expected = Pruned {
        attempts: 3,
        deliveries: 1,
        events: 1,
    };
    let counted = hundi::service::retention::prunable(&*store, &keep, now)
        .await
        .unwrap();
    assert_eq!(counted, expected);
    let pruned = hundi::service::retention::prune(&*store, &keep, now, std::time::Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(
        pruned, expected,
        "the dry run counted what the prune removed"
    );
    let left = hundi::service::retention::prunable(&*store, &keep, now)
        .await
        .unwrap();
    assert_eq!(left, Pruned::default());
    let event_of = |p: &hundi::domain::payment::Payment| {
        jobs.iter()
            .find(|j| j.object_id == p.id)
            .unwrap()
            .event_id
            .clone()
    };
    assert!(store
        .get_event(&scope, &event_of(&payments[0]))
        .await
        .is_err());
    assert!(store
        .get_event(&scope, &event_of(&payments[1]))
        .await
        .is_ok());
    let kept = store
        .get_event(&scope, &event_of(&payments[2]))
        .await
        .unwrap();
    let page = Page {
        starting_after: None,
        limit: 10,
    };
    let deliveries = store
        .list_deliveries(&scope, &kept.id, &page)
        .await
        .unwrap();
    assert_eq!(
        deliveries[0].status, "pending",
        "a pending delivery is never pruned"
    );
    for p in &payments {
        assert!(
            store.get_payment(&scope, &p.id).await.is_ok(),
            "payments are kept"
        );
    }
    // The default keeps events and deliveries: nothing more goes.
    let default = hundi::service::retention::prunable(&*store, &Retention::default(), now)
        .await
        .unwrap();
    assert_eq!(default, Pruned::default());
}

/// The overview's figures, counted here from the payments themselves: the oracle the
/// roll-up is checked against.
async fn counted(
    store: &dyn Store,
    scope: &Scope,
    since: chrono::DateTime<Utc>,
) -> Vec<hundi::domain::session::DayStat> {
    let filter = PaymentFilter {
        limit: 100,
        ..Default::default()
    };
    let mut sums = std::collections::BTreeMap::new();
    for p in store.list_payments(scope, &filter).await.unwrap() {
        if p.created_at < since {
            continue;
        }
        let key = (
            p.created_at.format("%Y-%m-%d").to_string(),
            p.amount.currency().code().to_string(),
            p.status.as_str().to_string(),
        );
        let sum: &mut (i64, i64, i64) = sums.entry(key).or_default();
        sum.0 += 1;
        sum.1 += p.amount.minor();
        sum.2 += p.refunded_minor;
    }
    sums.into_iter()
        .map(
            |((day, currency, status), (count, amount_minor, refunded_minor))| {
                hundi::domain::session::DayStat {
                    day,
                    currency,
                    status,
                    count,
                    amount_minor,
                    refunded_minor,
                }
            },
        )
        .collect()
}

/// The overview's figures read through the hourly roll-up equal the figures counted from the
/// payments: before the roll-up exists, once it has filled in older hours, after payments
/// from earlier days change and a pass counts their hours again (with passes running
/// concurrently), and once a new hour closes. Another mode's payments never count.
async fn the_overview_roll_up_agrees_with_the_payments(backend: Backend) {
    use hundi::domain::rollup::{closed_hour, FILLED};
    use hundi::service::rollup::roll_up;
    let (db, store, service, scope, _) = setup(backend).await;
    let fill = std::time::Duration::from_secs(60);
    // (days old, what happened): paid, canceled or still pending.
    let history = [
        (40, "paid"),
        (10, "canceled"),
        (10, "pending"),
        (3, "paid"),
        (3, "pending"),
        (3, "paid"),
        (0, "pending"),
    ];
    let mut ids = Vec::new();
    for (i, (days, what)) in history.iter().enumerate() {
        let p = service
            .create(&scope, new_payment(&format!("{}.00", 10 + i)))
            .await
            .unwrap();
        match *what {
            "paid" => drop(service.succeed(&scope, &p.id).await.unwrap()),
            "canceled" => drop(
                service
                    .cancel(&crate::common::operator(&scope), &p.id)
                    .await
                    .unwrap(),
            ),
            _ => {}
        }
        shift_back(&db.url, "payments", "created_at", ("id", &p.id), *days).await;
        ids.push(p.id);
    }
    let live = Scope {
        livemode: true,
        ..scope.clone()
    };
    service.create(&live, new_payment("99.00")).await.unwrap();
    let since = Utc::now() - Duration::days(60);
    let stats = || async { store.payment_stats(&scope, since).await.unwrap() };
    assert_eq!(stats().await, counted(&*store, &scope, since).await);
    assert_eq!(stats().await.len(), 6, "four days, three statuses on two");

    // The first pass starts the roll-up and fills in every older hour.
    let now = Utc::now();
    assert!(!roll_up(&*store, now, fill).await.unwrap());
    let mark = store.rollup_mark(&scope).await.unwrap().unwrap();
    assert_eq!(mark.filled_from, FILLED);
    assert_eq!(mark.closed_to, closed_hour(now));
    assert_eq!(stats().await, counted(&*store, &scope, since).await);

    // Payments from 3, 10 and 40 days ago change: the figures read the roll-up, so they
    // show the change only once a pass has counted those hours again.
    service.succeed(&scope, &ids[4]).await.unwrap();
    service
        .cancel(&crate::common::operator(&scope), &ids[2])
        .await
        .unwrap();
    service
        .refund(
            &crate::common::operator(&scope),
            &ids[0],
            Some("4.00"),
            None,
        )
        .await
        .unwrap();
    let truth = counted(&*store, &scope, since).await;
    assert_ne!(stats().await, truth, "not counted again yet");
    let now = Utc::now();
    let passes = futures::future::join_all((0..4).map(|_| roll_up(&*store, now, fill))).await;
    assert!(passes.into_iter().all(|p| p.is_ok()));
    assert_eq!(stats().await, truth);

    // An hour closes: the newest payment is now read from the roll-up, still the same.
    let later = now + Duration::hours(3);
    roll_up(&*store, later, fill).await.unwrap();
    let mark = store.rollup_mark(&scope).await.unwrap().unwrap();
    assert_eq!(mark.closed_to, closed_hour(later));
    assert_eq!(stats().await, truth);
    let live_stats = store.payment_stats(&live, since).await.unwrap();
    assert_eq!(live_stats.len(), 1);
    assert_eq!(live_stats[0].amount_minor, 9900);
}

/// Creates written together (PostgreSQL's group commit writes those that wait at the same
/// moment as one statement) each get their own event and one delivery per endpoint that
/// wants it, and none is lost or written twice.
async fn concurrent_creates_each_get_their_event_and_delivery(backend: Backend) {
    use hundi::store::Page;
    let (_db, store, service, scope, _) = setup(backend).await;
    unreachable_endpoint(&*store, &scope, &["payment.created"]).await;
    let created = futures::future::join_all((0..80).map(|i| {
        let (service, scope) = (service.clone(), scope.clone());
        async move {
            service
                .create(&scope, new_payment(&format!("{}.00", i + 1)))
                .await
                .unwrap()
        }
    }))
    .await;
    let page = Page {
        starting_after: None,
        limit: 10,
    };
    for p in &created {
        let stored = store.get_payment(&scope, &p.id).await.unwrap();
        assert_eq!(stored.amount, p.amount);
        let evts = store
            .list_events(
                &scope,
                &EventFilter {
                    object_id: Some(p.id.clone()),
                    limit: 10,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(evts.len(), 1, "one event for {}", p.id);
        let deliveries = store
            .list_deliveries(&scope, &evts[0].id, &page)
            .await
            .unwrap();
        assert_eq!(deliveries.len(), 1, "one delivery for {}", p.id);
    }
}

/// A second factor's codes are each accepted once, even when the same code arrives on
/// several connections at once; a part-way session is moved on once; turning it off takes
/// the recovery codes with it.
async fn second_factors_accept_each_code_once(backend: Backend) {
    use hundi::domain::session::{Session, Stage};
    let (_db, store, _, scope, _) = setup(backend).await;
    let user = hundi::service::users::create_user(
        &*store,
        &crate::common::operator(&scope),
        "two@shop.example",
        "long enough password",
        hundi::domain::role::Role::Owner,
    )
    .await
    .unwrap();
    let none = store.get_second_factor(&user.id).await.unwrap();
    assert_eq!(
        (none.secret, none.pending, none.codes_left),
        (None, None, 0)
    );
    store
        .set_pending_second_factor(&user.id, "sealed-1")
        .await
        .unwrap();
    store
        .set_pending_second_factor(&user.id, "sealed-2")
        .await
        .unwrap();
    let pending = store.get_second_factor(&user.id).await.unwrap();
    assert_eq!(
        (pending.secret, pending.pending.as_deref()),
        (None, Some("sealed-2"))
    );
    assert!(
        !store.accept_totp_step(&user.id, 100).await.unwrap(),
        "not on yet"
    );
    let hashes: Vec<String> = (0..12).map(|i| format!("hash{i}")).collect();
    let now = Utc::now();
    store
        .enable_second_factor(&user.id, "sealed-2", 100, &hashes, now, None)
        .await
        .unwrap();
    let on = store.get_second_factor(&user.id).await.unwrap();
    assert_eq!(
        (
            on.secret.as_deref(),
            on.pending,
            on.last_step,
            on.codes_left
        ),
        (Some("sealed-2"), None, Some(100), 10),
        "ten codes at most, whatever is passed"
    );
    // The step that confirmed it, and older ones, are spent; a later one is accepted once.
    assert!(!store.accept_totp_step(&user.id, 100).await.unwrap());
    let tries = (0..8).map(|_| store.accept_totp_step(&user.id, 101));
    let accepted = futures::future::join_all(tries).await;
    assert_eq!(accepted.iter().filter(|r| *r.as_ref().unwrap()).count(), 1);
    assert!(!store.accept_totp_step(&user.id, 99).await.unwrap());
    let uses = (0..8).map(|_| store.use_recovery_code(&user.id, "hash3", now, None));
    let used = futures::future::join_all(uses).await;
    assert_eq!(used.iter().filter(|r| *r.as_ref().unwrap()).count(), 1);
    assert!(!store
        .use_recovery_code(&user.id, "nope", now, None)
        .await
        .unwrap());
    assert_eq!(
        store.get_second_factor(&user.id).await.unwrap().codes_left,
        9
    );
    // A session waiting for its code moves on once.
    let session = Session {
        token_hash: "partial".into(),
        user_id: user.id.clone(),
        merchant_id: scope.merchant_id.clone(),
        csrf: "csrf".into(),
        livemode: false,
        created_at: now,
        expires_at: now + Duration::minutes(5),
        stage: Stage::SecondFactor,
    };
    store.create_session(&session, None).await.unwrap();
    assert_eq!(
        store.get_session("partial", now).await.unwrap().stage,
        Stage::SecondFactor
    );
    let later = now + Duration::hours(12);
    let moves = (0..4)
        .map(|_| store.set_session_stage("partial", Stage::SecondFactor, Stage::Full, later, None));
    let moved = futures::future::join_all(moves).await;
    assert_eq!(moved.iter().filter(|r| *r.as_ref().unwrap()).count(), 1);
    let full = store.get_session("partial", now).await.unwrap();
    assert_eq!(full.stage, Stage::Full);
    assert_eq!(full.expires_at.timestamp(), later.timestamp());
    store.disable_second_factor(&user.id, None).await.unwrap();
    let off = store.get_second_factor(&user.id).await.unwrap();
    assert_eq!((off.secret, off.codes_left), (None, 0));
    // A user with a second factor can still be removed.
    store
        .enable_second_factor(&user.id, "s", 1, &hashes, now, None)
        .await
        .unwrap();
    let other = hundi::service::users::create_user(
        &*store,
        &crate::common::operator(&scope),
        "boss@shop.example",
        "long enough password",
        hundi::domain::role::Role::Owner,
    )
    .await
    .unwrap();
    store
        .remove_user(&scope.merchant_id, &user.id, None)
        .await
        .unwrap();
    assert_eq!(
        store.list_users(&scope.merchant_id).await.unwrap()[0].id,
        other.id
    );
}

/// A mailbox's lease: one owner until it lapses or is released; only the owner's reports are
/// written; a read never moves the last UID back; new settings for the same host, user and
/// folder keep the reading, another folder starts over.
async fn mailbox_leases_fence_their_readers(backend: Backend) {
    use hundi::domain::mailbox::{
        Mailbox, MailboxProgress, MailboxReport, MailboxSettings, Security,
    };
    let (_db, store, _, scope, m) = setup(backend).await;
    let t0 = hundi::domain::now();
    let settings = |folder: &str| {
        MailboxSettings::new(
            "imap.example.com",
            None,
            Security::Tls,
            "shop",
            folder,
            "sbi.co.in",
        )
        .unwrap()
    };
    let mailbox = |folder: &str, at| Mailbox {
        merchant_id: m.id.clone(),
        livemode: false,
        settings: settings(folder),
        password_sealed: "sealed".into(),
        set_at: at,
        read_from: at,
        progress: MailboxProgress::default(),
        lease_owner: None,
        lease_until: None,
    };
    store
        .put_mailbox(&mailbox("INBOX", t0), None)
        .await
        .unwrap();
    let until = t0 + Duration::seconds(30);
    assert!(store.claim_mailbox(&scope, "a", t0, until).await.unwrap());
    assert!(!store
        .claim_mailbox(&scope, "b", t0 + Duration::seconds(29), until)
        .await
        .unwrap());
    let connected = MailboxReport::Connected {
        uid_validity: 7,
        last_uid: 10,
    };
    assert!(!store
        .report_mailbox(&scope, "b", &connected, t0)
        .await
        .unwrap());
    assert!(store
        .report_mailbox(&scope, "a", &connected, t0)
        .await
        .unwrap());
    let read = |uid| MailboxReport::Read {
        uid,
        summary: format!("read {uid}"),
    };
    assert!(store
        .report_mailbox(&scope, "a", &read(12), t0)
        .await
        .unwrap());
    assert!(store
        .report_mailbox(&scope, "a", &read(11), t0)
        .await
        .unwrap());
    let now = store.mailbox(&scope).await.unwrap().unwrap();
    assert_eq!(
        (now.progress.uid_validity, now.progress.last_uid),
        (Some(7), Some(12))
    );
    assert_eq!(now.progress.last_message.as_deref(), Some("read 11"));
    assert_eq!(now.lease_owner.as_deref(), Some("a"));

    // Lapsed, it is b's; a's reports are refused from then on.
    let later = t0 + Duration::seconds(31);
    assert!(store
        .claim_mailbox(&scope, "b", later, later + Duration::seconds(30))
        .await
        .unwrap());
    assert!(!store
        .report_mailbox(&scope, "a", &read(13), later)
        .await
        .unwrap());
    store.release_mailbox(&scope, "a").await.unwrap();
    assert_eq!(
        store
            .mailbox(&scope)
            .await
            .unwrap()
            .unwrap()
            .lease_owner
            .as_deref(),
        Some("b")
    );
    store.release_mailbox(&scope, "b").await.unwrap();
    assert!(store
        .claim_mailbox(&scope, "c", later, later)
        .await
        .unwrap());

    // A new password (same host, user, folder) keeps the reading; another folder does not.
    let t1 = t0 + Duration::seconds(60);
    store
        .put_mailbox(&mailbox("INBOX", t1), None)
        .await
        .unwrap();
    let kept = store.mailbox(&scope).await.unwrap().unwrap();
    assert_eq!(
        (kept.progress.last_uid, kept.read_from, kept.set_at),
        (Some(12), t0, t1)
    );
    store
        .put_mailbox(&mailbox("Alerts", t1), None)
        .await
        .unwrap();
    let moved = store.mailbox(&scope).await.unwrap().unwrap();
    assert_eq!((moved.progress.last_uid, moved.read_from), (None, t1));
    assert_eq!(store.all_mailboxes().await.unwrap().len(), 1);
    assert!(store.delete_mailbox(&scope, None).await.unwrap());
    assert!(store.mailbox(&scope).await.unwrap().is_none());
}

/// Payment links: kept with their amount (fixed, or bounds), found by id in their own scope
/// only and by slug, listed newest first, deactivated once; their tally counts the payments
/// whose source they are; what cannot be paid is refused at creation.
async fn payment_links_round_trip_and_tally(backend: Backend) {
    use hundi::service::payment_links::NewLink;
    use hundi::service::ServiceError;
    let (_db, store, service, scope, m) = setup(backend).await;
    let by = crate::common::operator(&scope);
    let link = |amount: Option<&str>, bounds: Option<(&str, &str)>, currency: &str| NewLink {
        amount: amount.map(str::to_string),
        min_amount: bounds.map(|b| b.0.to_string()),
        max_amount: bounds.map(|b| b.1.to_string()),
        currency: currency.into(),
        description: "Masala tea".into(),
        ..NewLink::default()
    };
    let fixed = service
        .create_payment_link(
            &by,
            NewLink {
                max_payments: Some(2),
                ..link(Some("499"), None, "INR")
            },
        )
        .await
        .unwrap();
    let later = hundi::domain::now() + Duration::hours(1);
    let chosen = NewLink {
        methods: Some(vec!["card".into(), "jazzcash".into()]),
        expires_at: Some(later),
        ..link(None, Some(("100", "5000")), "PKR")
    };
    let chosen = service.create_payment_link(&by, chosen).await.unwrap();
    assert_eq!(
        store.payment_link(&scope, &fixed.id).await.unwrap(),
        Some(fixed.clone())
    );
    assert_eq!(
        store.payment_link_by_slug(&chosen.slug).await.unwrap(),
        Some(chosen.clone())
    );
    assert_eq!(chosen.expires_at, Some(later));
    let live = Scope {
        livemode: true,
        ..scope.clone()
    };
    assert_eq!(store.payment_link(&live, &fixed.id).await.unwrap(), None);
    let other = crate::common::merchant(&*store, "Other").await;
    let theirs = Scope {
        merchant_id: other.id,
        livemode: false,
    };
    assert_eq!(store.payment_link(&theirs, &fixed.id).await.unwrap(), None);
    let listed: Vec<String> = service
        .payment_links(&scope)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.id)
        .collect();
    assert_eq!(listed, vec![chosen.id.clone(), fixed.id.clone()]);

    // Three payments through the fixed link, one of them paid; one elsewhere.
    let mut through = Vec::new();
    for _ in 0..3 {
        let input = NewPayment {
            source: fixed.id.clone(),
            ..new_payment("499.00")
        };
        through.push(service.create(&scope, input).await.unwrap());
    }
    service.create(&scope, new_payment("499.00")).await.unwrap();
    service.succeed(&scope, &through[0].id).await.unwrap();
    let tally = service.link_tally(&fixed).await.unwrap();
    assert_eq!(
        (tally.succeeded, tally.pending, tally.revenue_minor),
        (1, 2, 49_900)
    );

    let off = service
        .deactivate_payment_link(&by, &fixed.id)
        .await
        .unwrap();
    assert!(!off.active);
    assert!(
        !service
            .deactivate_payment_link(&by, &fixed.id)
            .await
            .unwrap()
            .active
    );
    let by_them = crate::common::operator(&theirs);
    assert!(matches!(
        service.deactivate_payment_link(&by_them, &chosen.id).await,
        Err(ServiceError::NotFound(_))
    ));
    assert!(
        store
            .payment_link(&scope, &chosen.id)
            .await
            .unwrap()
            .unwrap()
            .active
    );

    for (bad, param) in [
        (link(Some("10"), Some(("1", "2")), "INR"), "amount"),
        (link(None, Some(("200", "100")), "INR"), "max_amount"),
        (link(Some("0"), None, "INR"), "amount"),
        (
            NewLink {
                methods: Some(vec!["jazzcash".into()]),
                ..link(Some("10"), None, "INR")
            },
            "methods",
        ),
        (
            NewLink {
                max_payments: Some(0),
                ..link(Some("10"), None, "INR")
            },
            "max_payments",
        ),
        (
            NewLink {
                expires_at: Some(hundi::domain::now()),
                ..link(Some("10"), None, "INR")
            },
            "expires_at",
        ),
        (
            NewLink {
                description: " ".into(),
                ..link(Some("10"), None, "INR")
            },
            "description",
        ),
    ] {
        match service.create_payment_link(&by, bad).await {
            Err(ServiceError::Invalid { param: p, .. }) => assert_eq!(p, param),
            other => panic!("{param}: {other:?}"),
        }
    }
    let _ = m;
}

on_both_backends!(
    payment_links_round_trip_and_tally,
    mailbox_leases_fence_their_readers,
    second_factors_accept_each_code_once,
    users_sessions_and_the_sign_in_throttle,
    deliveries_are_leased_once_and_logged,
    released_deliveries_are_claimable_at_once,
    attempts_are_counted_and_finished_once,
    key_changes_reach_watchers,
    key_rate_limits_round_trip,
    rate_buckets_hand_out_what_they_hold,
    upi_payables_are_unique_per_mode,
    a_manual_match_records_the_accepted_shortfall,
    a_keys_endpoint_follows_it_in_one_transaction,
    webhook_history_is_pruned_past_its_keep,
    the_overview_roll_up_agrees_with_the_payments,
    concurrent_creates_each_get_their_event_and_delivery,
);

/// A payment's success and its refunds each record a receipt when the customer gave an
/// e-mail address, in the event's transaction; a receipt is leased by one sender at a time
/// (claims racing on many tasks get each receipt once), finished once, and retried only when due.
async fn receipts_are_recorded_with_their_event_and_leased_once(backend: Backend) {
    use hundi::domain::receipt::{ReceiptOutcome, ReceiptStatus};
    let (_db, store, service, scope, _) = setup(backend).await;
    let mut with_email = new_payment("100.00");
    with_email.customer.email = Some("ayesha@example.com".into());
    let paid = service.create(&scope, with_email).await.unwrap();
    let silent = service.create(&scope, new_payment("100.00")).await.unwrap();
    service.succeed(&scope, &paid.id).await.unwrap();
    service.succeed(&scope, &silent.id).await.unwrap();
    let op = crate::common::operator(&scope);
    let (_, refund) = service
        .refund(&op, &paid.id, Some("40.00"), None)
        .await
        .unwrap();
    assert!(store
        .receipts_of(&scope, &silent.id)
        .await
        .unwrap()
        .is_empty());
    let recorded = store.receipts_of(&scope, &paid.id).await.unwrap();
    let kinds: Vec<_> = recorded.iter().map(|r| r.refund_id.clone()).collect();
    assert_eq!(kinds, vec![None, Some(refund.id.clone())]);
    assert!(recorded
        .iter()
        .all(|r| r.to_email == "ayesha@example.com" && r.status == ReceiptStatus::Pending));

    // Ten senders race for them: each receipt is leased exactly once.
    let now = Utc::now();
    let mut racers = Vec::new();
    for _ in 0..10 {
        let store = store.clone();
        racers.push(tokio::spawn(async move {
            store
                .claim_receipts(now, now + Duration::seconds(60), 10)
                .await
                .unwrap()
        }));
    }
    let mut leased = Vec::new();
    for r in racers {
        leased.extend(r.await.unwrap().into_iter().map(|r| (r.id, r.attempts)));
    }
    leased.sort();
    let mut want: Vec<_> = recorded.iter().map(|r| (r.id.clone(), 1)).collect();
    want.sort();
    assert_eq!(leased, want);

    let (first, second) = (&recorded[0].id, &recorded[1].id);
    assert!(store
        .finish_receipt(first, &ReceiptOutcome::Sent, now)
        .await
        .unwrap());
    assert!(
        !store
            .finish_receipt(first, &ReceiptOutcome::Sent, now)
            .await
            .unwrap(),
        "once"
    );
    let retry = ReceiptOutcome::Retry {
        at: now + Duration::seconds(10),
        error: "451 try later".into(),
    };
    assert!(store.finish_receipt(second, &retry, now).await.unwrap());
    let soon = now + Duration::seconds(5);
    assert!(store
        .claim_receipts(soon, soon + Duration::seconds(60), 10)
        .await
        .unwrap()
        .is_empty());
    let due = now + Duration::seconds(11);
    let again = store
        .claim_receipts(due, due + Duration::seconds(60), 10)
        .await
        .unwrap();
    assert_eq!(
        again
            .iter()
            .map(|r| (r.id.as_str(), r.attempts))
            .collect::<Vec<_>>(),
        [(second.as_str(), 2)]
    );
    assert_eq!(again[0].last_error.as_deref(), Some("451 try later"));
    // A lease that ran out (its sender died) makes the receipt due again.
    let later = due + Duration::seconds(61);
    let taken_over = store
        .claim_receipts(later, later + Duration::seconds(60), 10)
        .await
        .unwrap();
    assert_eq!(taken_over.len(), 1);
    let gave_up = ReceiptOutcome::GiveUp {
        status: ReceiptStatus::Failed,
        error: "550 no such user".into(),
    };
    assert!(store.finish_receipt(second, &gave_up, later).await.unwrap());
    let end = store.receipts_of(&scope, &paid.id).await.unwrap();
    assert_eq!(
        end.iter()
            .map(|r| (r.status, r.sent_at.is_some()))
            .collect::<Vec<_>>(),
        [(ReceiptStatus::Sent, true), (ReceiptStatus::Failed, false)]
    );
}

on_both_backends!(receipts_are_recorded_with_their_event_and_leased_once);
