//! # clientnest-core
//!
//! The spine of the ClientNest data layer: domain types for the 15 entities of the design,
//! validation in one place, the ports (repository and key-value traits), one error type,
//! security primitives, in-memory backends for every port and the conformance suite that every
//! backend passes.
//!
//! ```
//! use clientnest_core::prelude::*;
//! use clientnest_core::memory::MemoryStore;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let store = MemoryStore::new();
//! let hash = hash_password(&Secret::new("correct horse battery staple"))?;
//! let ada = store.create_user(NewUser::new("ada@example.com", hash, "Ada", "Lovelace")).await?;
//! let (team, owner) = store.create_team(NewTeam::new("Analytical", ada.id, PlanType::Starter)).await?;
//! assert_eq!(owner.role, TeamRole::Owner);
//!
//! // The same email in another case is taken: every backend names the same rule.
//! let again = NewUser::new("ADA@example.com", hash_password(&Secret::new("another one"))?, "A", "L");
//! let err = store.create_user(again).await.unwrap_err();
//! assert_eq!(err.rule(), Some("uq_users_email"));
//! # let _ = team;
//! # Ok::<(), clientnest_core::Error>(())
//! # }).unwrap();
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod analytics;
pub mod cache;
pub mod cache_aside;
pub mod clock;
pub mod constraint;
pub mod crypto;
pub mod error;
pub mod ids;
pub mod media;
pub mod model;
pub mod page;
pub mod ports;
pub mod secret;
pub mod validate;

#[cfg(feature = "memory")]
pub mod memory;

#[cfg(feature = "conformance")]
pub mod conformance;

#[cfg(feature = "mock")]
pub mod mock;

pub use error::{CryptoFailure, Entity, Error, FieldError, Result, ValidationErrors};

/// Everything an application usually needs, in one import.
pub mod prelude {
    pub use crate::cache::CacheExt;
    pub use crate::clock::{Clock, ManualClock, SharedClock, SystemClock};
    pub use crate::crypto::{KeyRing, hash_password, sign_webhook, verify_password, verify_webhook};
    pub use crate::error::{CryptoFailure, Entity, Error, Result};
    pub use crate::ids::*;
    pub use crate::model::*;
    pub use crate::page::{Cursor, Page, PageRequest};
    pub use crate::ports::*;
    pub use crate::secret::{PasswordHash, Secret};
}
