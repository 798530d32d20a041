//! Settings of an S3-compatible store, from code or from the environment.

use std::fmt;
use std::sync::Arc;

use clientnest_core::error::{Error, store};
use object_store::ObjectStore;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use url::Url;

/// Where and how to reach an S3-compatible bucket. The secret never shows in `Debug`.
///
/// ```
/// use clientnest_s3::S3Config;
///
/// let config = S3Config::new("http://127.0.0.1:9000", "media")
///     .with_credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG")
///     .with_path_style(true);
/// assert!(!format!("{config:?}").contains("wJalr"));
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct S3Config {
    /// The endpoint URL (`https://s3.eu-west-1.amazonaws.com`, `http://127.0.0.1:9000`).
    pub endpoint: String,
    /// The bucket.
    pub bucket: String,
    /// The region (`us-east-1` by default).
    pub region: String,
    /// The access key id; `None` takes the default AWS credential chain.
    pub access_key_id: Option<String>,
    /// The secret access key.
    pub secret_access_key: Option<zeroize::Zeroizing<String>>,
    /// Path-style requests (`{endpoint}/{bucket}/{key}`), as most S3-compatible servers need;
    /// `false` for virtual-hosted style (`{bucket}.{endpoint}/{key}`). Default `true`.
    pub path_style: bool,
}

impl fmt::Debug for S3Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &self.secret_access_key.as_ref().map(|_| "<redacted>"))
            .field("path_style", &self.path_style)
            .finish()
    }
}

impl S3Config {
    /// A bucket at an endpoint, path-style, in `us-east-1`, with the default credential chain.
    pub fn new(endpoint: impl Into<String>, bucket: impl Into<String>) -> S3Config {
        S3Config {
            endpoint: endpoint.into(),
            bucket: bucket.into(),
            region: "us-east-1".to_owned(),
            access_key_id: None,
            secret_access_key: None,
            path_style: true,
        }
    }

    /// From the environment: `S3_ENDPOINT` and `S3_BUCKET` (required), `AWS_REGION`
    /// (default `us-east-1`), `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`, and
    /// `S3_VIRTUAL_HOSTED=1` for virtual-hosted style. `None` when `S3_ENDPOINT` is unset.
    pub fn from_env() -> Option<S3Config> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let endpoint = var("S3_ENDPOINT")?;
        let mut config = S3Config::new(endpoint, var("S3_BUCKET").unwrap_or_else(|| "clientnest".to_owned()));
        if let Some(region) = var("AWS_REGION") {
            config.region = region;
        }
        if let (Some(id), Some(secret)) = (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
            config = config.with_credentials(id, secret);
        }
        config.path_style = var("S3_VIRTUAL_HOSTED").is_none_or(|v| v != "1");
        Some(config)
    }

    /// The same settings with static credentials.
    pub fn with_credentials(mut self, access_key_id: impl Into<String>, secret_access_key: impl Into<String>) -> Self {
        self.access_key_id = Some(access_key_id.into());
        self.secret_access_key = Some(zeroize::Zeroizing::new(secret_access_key.into()));
        self
    }

    /// The same settings in another region.
    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.region = region.into();
        self
    }

    /// The same settings with path-style (`true`) or virtual-hosted (`false`) requests.
    pub fn with_path_style(mut self, path_style: bool) -> Self {
        self.path_style = path_style;
        self
    }

    /// The bucket's base URL: `{endpoint}/{bucket}/` path-style, `{scheme}://{bucket}.{host}/`
    /// virtual-hosted.
    pub fn bucket_url(&self) -> Result<Url, Error> {
        let endpoint = Url::parse(&self.endpoint)
            .map_err(|e| Error::invalid("endpoint", "http_url", format!("the S3 endpoint is not a URL: {e}")))?;
        let text = if self.path_style {
            format!("{}/{}/", endpoint.as_str().trim_end_matches('/'), self.bucket)
        } else {
            let host = endpoint.host_str().unwrap_or_default();
            let port = endpoint.port().map(|p| format!(":{p}")).unwrap_or_default();
            format!("{}://{}.{host}{port}/", endpoint.scheme(), self.bucket)
        };
        Url::parse(&text).map_err(|e| Error::invalid("bucket", "http_url", format!("no URL for the bucket: {e}")))
    }

    /// The `object_store` client for this bucket (plain http is allowed only for a loopback
    /// endpoint).
    pub fn build(&self) -> Result<AmazonS3, Error> {
        let endpoint = Url::parse(&self.endpoint)
            .map_err(|e| Error::invalid("endpoint", "http_url", format!("the S3 endpoint is not a URL: {e}")))?;
        let loopback = matches!(endpoint.host_str(), Some("127.0.0.1" | "localhost" | "[::1]" | "::1"));
        let mut builder = AmazonS3Builder::new()
            .with_endpoint(&self.endpoint)
            .with_bucket_name(&self.bucket)
            .with_region(&self.region)
            .with_virtual_hosted_style_request(!self.path_style)
            .with_allow_http(loopback);
        if let (Some(id), Some(secret)) = (&self.access_key_id, &self.secret_access_key) {
            builder = builder.with_access_key_id(id).with_secret_access_key(secret.as_str());
        }
        builder.build().map_err(|e| Error::backend(store::OBJECT_STORE, e))
    }

    /// [`S3Config::build`] as a shared `dyn ObjectStore`.
    pub fn object_store(&self) -> Result<Arc<dyn ObjectStore>, Error> {
        Ok(Arc::new(self.build()?))
    }
}
