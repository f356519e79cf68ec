//! `POST /co/authenticate`: embedded login from another origin.
//!
//! The provider's browser SDKs (Auth0.js v9, Lock v11) send a user's
//! password from the application's page straight to the custom domain's
//! `/co/authenticate`. The provider allows that only for applications with
//! "Allow Cross-Origin Authentication" on, and only from their "Allowed Web
//! Origins". The edge applies the same two rules first, so credentials
//! posted from a page that is not allowed are never handed to the provider.
//!
//! The answers are the provider's own, from the `/co/authenticate` error
//! table ("Cross-Origin Authentication", "Error Codes and Descriptions"):
//!
//! | case | status | `error` | description |
//! |---|---|---|---|
//! | body not a JSON object | 400 | `invalid_request` | `Invalid request body. The body must be a JSON object.` |
//! | `client_id` missing, empty, not a string or repeated | 400 | `invalid_request` | the provider's `Invalid request body. All and only of client_id, credential_type, username, otp, realm are required.` |
//! | cross-origin authentication off | 401 | `unauthorized_client` | `Cross origin login not allowed.` |
//! | unknown client id, default [`UnknownClientPolicy::Deny`] | 401 | `unauthorized_client` | `Cross origin login not allowed.` |
//! | origin not in "Allowed Web Origins" (or no `Origin`) | 403 | none, plain text | `Origin <origin> is not allowed.` |
//!
//! The provider's table has no row for an unknown client id; it is answered
//! like an application with cross-origin authentication off, which is what it
//! is as far as the edge knows, and which does not reveal which client ids
//! exist. The other fields (`credential_type`, `username`, `realm`, ...) are
//! the provider's to check; the edge only reads `client_id`.
//!
//! [`UnknownClientPolicy::Deny`]: crate::UnknownClientPolicy::Deny

use crate::browser_policy::BrowserPolicy;
use crate::client_id::{client_id_from_json, ClientIdError};
use crate::cors::origin_not_allowed;
use crate::origin::Origin;
use crate::refusal::Refusal;

/// The endpoint's path.
pub const CO_AUTHENTICATE_PATH: &str = "/co/authenticate";

/// Description for a body that is not a JSON object.
pub const BODY_NOT_JSON_OBJECT: &str = "Invalid request body. The body must be a JSON object.";

/// The provider's description when required fields are missing.
pub const BODY_FIELDS_REQUIRED: &str =
    "Invalid request body. All and only of client_id, credential_type, username, otp, realm are required.";

/// Checks a `/co/authenticate` request; `Ok` means forward it unchanged.
///
/// `body` is the complete request body, already read under the caller's
/// size cap; `origin` is the `Origin` header. The checks run in the order of
/// the table in the module docs, and the first failing one answers.
///
/// This is the cross-origin *authentication* rule only. The call is also a
/// CORS request (its JSON body makes the browser preflight it), so the
/// gateway still takes the response's CORS headers from
/// [`crate::actual_request`] with the body's client id; adding those headers
/// to a 400 or 401 from here too lets the SDK read the error, as it can
/// read the provider's own.
pub fn check_co_authenticate(
    policy: &BrowserPolicy,
    origin: Option<&str>,
    body: &[u8],
) -> Result<(), Refusal> {
    let client_id = match client_id_from_json(body) {
        Ok(Some(id)) => id,
        Err(ClientIdError::Malformed) => return Err(Refusal::BadRequest(BODY_NOT_JSON_OBJECT)),
        Ok(None) | Err(_) => return Err(Refusal::BadRequest(BODY_FIELDS_REQUIRED)),
    };
    let Some(settings) = policy.settings_for(&client_id) else {
        return Err(Refusal::CrossOriginLoginNotAllowed);
    };
    if !settings.cross_origin_authentication {
        return Err(Refusal::CrossOriginLoginNotAllowed);
    }
    let allowed = origin
        .and_then(Origin::parse)
        .is_some_and(|o| settings.allowed_web_origins.allows(&o));
    if allowed {
        Ok(())
    } else {
        Err(origin_not_allowed(origin))
    }
}
