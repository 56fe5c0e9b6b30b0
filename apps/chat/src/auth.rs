//! JSON Web Tokens (HS256) for the admin namespace and `--require-auth`.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// What a token says about its bearer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// The user name.
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
}

/// The server's signing secret.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Secret {
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Secret(bytes.into())
    }

    /// A token for `sub` valid for `ttl_seconds`.
    pub fn issue(
        &self,
        sub: &str,
        role: Option<&str>,
        ttl_seconds: u64,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let claims = Claims {
            sub: sub.to_owned(),
            role: role.map(str::to_owned),
            exp: now() + ttl_seconds,
        };
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(&self.0),
        )
    }

    /// The claims of a valid token: signed by us with HS256 (any other
    /// algorithm, `none` included, is refused) and not expired.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(&self.0), &validation)
            .ok()
            .map(|data| data.claims)
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issues_and_verifies() {
        let secret = Secret::new("s3cret");
        let token = secret.issue("ada", Some("admin"), 60).unwrap();
        let claims = secret.verify(&token).unwrap();
        assert_eq!(
            (claims.sub.as_str(), claims.role.as_deref()),
            ("ada", Some("admin"))
        );
        assert!(
            Secret::new("other").verify(&token).is_none(),
            "bad signature"
        );
        assert!(secret.verify("not.a.token").is_none());
    }

    #[test]
    fn refuses_expired_and_unsigned() {
        let secret = Secret::new("s3cret");
        let claims = Claims {
            sub: "ada".into(),
            role: Some("admin".into()),
            exp: now() - 10,
        };
        let expired = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(b"s3cret"),
        )
        .unwrap();
        assert!(secret.verify(&expired).is_none());
        // `alg: none`: header and claims with an empty signature.
        let none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhZGEiLCJyb2xlIjoiYWRtaW4iLCJleHAiOjk5OTk5OTk5OTl9.";
        assert!(secret.verify(none).is_none());
    }
}
