//! What the OpenAPI document says about every operation at once: the answers any
//! authenticated operation can give (bad key, missing permission, rate limit, server
//! trouble, and on POSTs the body and `Idempotency-Key` errors), and the links that feed one
//! operation's result into the next (a created payment's id into cancel, refund, test succeed).
//! Each operation's own answers and constraints are declared on its handler.

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{
    ContentBuilder, OpenApi, Ref, RefOr, Required, Response, ResponseBuilder, Responses,
};

/// The longest `Idempotency-Key` accepted (see `idempotency::KEY_MAX`).
const IDEMPOTENCY_KEY_MAX: usize = 255;

/// Completes the document once every route is in it.
pub fn complete(spec: &mut OpenApi) {
    for (path, item) in spec.paths.paths.iter_mut() {
        if !path.starts_with("/v1/") {
            continue;
        }
        // The SMS forwarders' door has a device token, no permissions and no idempotency
        // keys (see `sms.rs`).
        let device_door = path == "/v1/credits/sms";
        for (method, op) in operations(item) {
            if device_door {
                add_device_door_answers(op);
            } else {
                add_common_answers(method, op);
            }
        }
    }
    super::payments::tie_amount_to_currency(spec);
}

/// What `idempotency` accepts once the HTTP layer has trimmed the value: visible ASCII at both
/// ends, spaces and tabs allowed between.
const IDEMPOTENCY_KEY_PATTERN: &str = r"^[\x21-\x7e]([\t\x20-\x7e]*[\x21-\x7e])?$";

/// Every operation of a path item, with its method.
fn operations(item: &mut PathItem) -> Vec<(&'static str, &mut Operation)> {
    [
        ("get", item.get.as_mut()),
        ("post", item.post.as_mut()),
        ("put", item.put.as_mut()),
        ("patch", item.patch.as_mut()),
        ("delete", item.delete.as_mut()),
    ]
    .into_iter()
    .filter_map(|(m, op)| op.map(|op| (m, op)))
    .collect()
}

/// A response whose body is the API's error shape.
fn error_response(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
}

/// Declares `status` unless the operation declares it already; if it does, the general
/// reason is added to the operation's own.
fn declare(responses: &mut Responses, status: &str, description: &str, response: Response) {
    match responses.responses.get_mut(status) {
        Some(RefOr::T(existing)) => {
            if !existing.description.contains(description) {
                let mut general = description.chars();
                let lowered: String = general
                    .next()
                    .map(|c| c.to_lowercase().chain(general).collect())
                    .unwrap_or_default();
                existing.description = format!("{}; or {lowered}", existing.description);
            }
        }
        Some(RefOr::Ref(_)) => {}
        None => {
            responses
                .responses
                .insert(status.to_string(), RefOr::T(response));
        }
    }
}

fn declare_error(responses: &mut Responses, status: &str, description: &str) {
    declare(responses, status, description, error_response(description));
}

fn add_common_answers(method: &str, op: &mut Operation) {
    let has_query = op
        .parameters
        .iter()
        .flatten()
        .any(|p| p.parameter_in == ParameterIn::Query);
    let is_post = method == "post";
    if is_post {
        declare_idempotency_key(op);
    }
    let responses = &mut op.responses;
    if is_post || has_query {
        declare_error(
            responses,
            "400",
            "Malformed request: a body that is not a JSON object, a field or query parameter \
             of the wrong type, or a bad Idempotency-Key",
        );
    }
    declare_error(responses, "401", "No API key, or an unknown or revoked one");
    declare_error(
        responses,
        "403",
        "The API key lacks the permission this operation needs",
    );
    if is_post {
        declare_error(
            responses,
            "409",
            "The Idempotency-Key was used with another request, or that request is still running",
        );
        declare_error(responses, "413", "The body is larger than 1 MiB");
    }
    declare(
        responses,
        "429",
        "Too many requests for this API key",
        rate_limited(),
    );
    declare_server_errors(responses);
}

fn declare_server_errors(responses: &mut Responses) {
    declare_error(
        responses,
        "500",
        "Something went wrong on the server; the request can be retried",
    );
    declare_error(responses, "503", "The database is not reachable");
}

fn add_device_door_answers(op: &mut Operation) {
    let responses = &mut op.responses;
    declare_error(
        responses,
        "400",
        "Malformed request: a body that is not JSON, or without the SMS text or its time",
    );
    declare_error(responses, "413", "The body is larger than 1 MiB");
    declare(
        responses,
        "429",
        "Too many requests from this client address",
        rate_limited(),
    );
    declare_server_errors(responses);
}

/// Adds the `Idempotency-Key` header to a POST that does not declare it itself.
fn declare_idempotency_key(op: &mut Operation) {
    let declared = op
        .parameters
        .iter()
        .flatten()
        .any(|p| p.name.eq_ignore_ascii_case("Idempotency-Key"));
    if !declared {
        op.parameters
            .get_or_insert_with(Vec::new)
            .push(idempotency_key());
    }
}

/// The 429 answer, with its `Retry-After` header.
fn rate_limited() -> Response {
    let retry_after = HeaderBuilder::new()
        .schema(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0)),
        )
        .description(Some("Seconds to wait before the next request"))
        .build();
    let mut limited = error_response("Too many requests for this API key");
    limited
        .headers
        .insert("Retry-After".to_string(), retry_after);
    limited
}

/// `Idempotency-Key`: 1 to 255 ASCII characters.
fn idempotency_key() -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "Makes retries safe: the same key with the same body answers as the first request did",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(IDEMPOTENCY_KEY_MAX))
                .pattern(Some(IDEMPOTENCY_KEY_PATTERN)),
        ))
        .build()
}

/// One link: `name` on `status` of `from` feeds `to` (by operation id).
struct LinkSpec {
    from: (&'static str, &'static str),
    status: &'static str,
    name: &'static str,
    to: &'static str,
    /// A path parameter of `to` and the runtime expression that gives it.
    parameter: Option<(&'static str, &'static str)>,
    /// A request body of `to` (its fields' values are runtime expressions).
    body: Option<serde_json::Value>,
}

const fn with_id(
    from: (&'static str, &'static str),
    status: &'static str,
    name: &'static str,
    to: &'static str,
    expression: &'static str,
) -> LinkSpec {
    LinkSpec {
        from,
        status,
        name,
        to,
        parameter: Some(("id", expression)),
        body: None,
    }
}

// The operations links start from (path, method), and the runtime expressions they pass on.
const CREATE_PAYMENT: (&str, &str) = ("/v1/payments", "post");
const SUCCEED: (&str, &str) = ("/v1/test/payments/{id}/succeed", "post");
const CREATE_REFUND: (&str, &str) = ("/v1/refunds", "post");
const CREATE_CREDIT: (&str, &str) = ("/v1/credits", "post");
const CREATE_ENDPOINT: (&str, &str) = ("/v1/webhook_endpoints", "post");
const LIST_EVENTS: (&str, &str) = ("/v1/events", "get");
const ID: &str = "$response.body#/id";
const FIRST_EVENT: &str = "$response.body#/data/0/id";

fn links() -> Vec<LinkSpec> {
    let mut all = money_links();
    all.extend(webhook_links());
    all
}

/// From a payment to what can be done with it, and from refunds and credits to themselves.
fn money_links() -> Vec<LinkSpec> {
    let refund_it = |from, status| LinkSpec {
        from,
        status,
        name: "RefundPayment",
        to: "create_refund",
        parameter: None,
        body: Some(serde_json::json!({ "payment": ID })),
    };
    vec![
        with_id(CREATE_PAYMENT, "201", "GetPayment", "get_payment", ID),
        with_id(CREATE_PAYMENT, "201", "CancelPayment", "cancel_payment", ID),
        with_id(CREATE_PAYMENT, "201", "SucceedPayment", "test_succeed", ID),
        with_id(CREATE_PAYMENT, "201", "FailPayment", "test_fail", ID),
        refund_it(CREATE_PAYMENT, "201"),
        refund_it(SUCCEED, "200"),
        with_id(CREATE_REFUND, "201", "GetRefund", "get_refund", ID),
        with_id(
            CREATE_CREDIT,
            "201",
            "GetCredit",
            "get_credit",
            "$response.body#/credit/id",
        ),
        with_id(
            CREATE_CREDIT,
            "201",
            "MatchCredit",
            "match_credit",
            "$response.body#/credit/id",
        ),
    ]
}

/// From a webhook endpoint to its operations, and from events to their deliveries.
fn webhook_links() -> Vec<LinkSpec> {
    vec![
        with_id(CREATE_ENDPOINT, "201", "GetEndpoint", "get_endpoint", ID),
        with_id(
            CREATE_ENDPOINT,
            "201",
            "UpdateEndpoint",
            "update_endpoint",
            ID,
        ),
        with_id(CREATE_ENDPOINT, "201", "RotateSecret", "rotate_secret", ID),
        with_id(
            CREATE_ENDPOINT,
            "201",
            "DeleteEndpoint",
            "delete_endpoint",
            ID,
        ),
        with_id(LIST_EVENTS, "200", "GetEvent", "get_event", FIRST_EVENT),
        with_id(
            LIST_EVENTS,
            "200",
            "ListDeliveries",
            "list_deliveries",
            FIRST_EVENT,
        ),
        with_id(LIST_EVENTS, "200", "Redeliver", "redeliver", FIRST_EVENT),
    ]
}

/// Writes the links into the serialized document. (utoipa 5 writes a link's fields in
/// snake_case, `operation_id`, which no client reads; the document gets them as OpenAPI
/// spells them.)
pub fn add_links(document: &mut serde_json::Value) {
    for link in links() {
        let (path, method) = link.from;
        let Some(response) = document
            .pointer_mut(&format!(
                "/paths/{}/{method}/responses/{}",
                path.replace('~', "~0").replace('/', "~1"),
                link.status
            ))
            .and_then(|r| r.as_object_mut())
        else {
            continue;
        };
        let mut value = serde_json::json!({ "operationId": link.to });
        if let Some((name, expression)) = link.parameter {
            value["parameters"] = serde_json::json!({ name: expression });
        }
        if let Some(body) = link.body {
            value["requestBody"] = body;
        }
        let links = response
            .entry("links")
            .or_insert_with(|| serde_json::json!({}));
        if let Some(links) = links.as_object_mut() {
            links.insert(link.name.to_string(), value);
        }
    }
}
