//! The wire dialects of existing gateways. Each dialect will be one module (routes, auth,
//! request → service command, payment → response, webhook payload and signature); what they
//! share lives here.

pub mod js_json;
pub mod pakhipay;
pub mod signing;
