//! The conformance suite: async functions that take any implementation of the ports and assert
//! the behaviour every backend must share. The in-memory backends and every adapter run the same
//! functions, generated as `#[tokio::test]`s by [`relational_conformance!`](crate::relational_conformance)
//! and [`kv_conformance!`](crate::kv_conformance).
//!
//! An adapter's test file supplies a factory: an `async fn` returning a fresh [`Harness`]
//! (its own database, schema or key prefix), so tests run in parallel.
//!
//! ```no_run
//! use clientnest_core::clock::ManualClock;
//! use clientnest_core::conformance::{Harness, TimeControl};
//! use clientnest_core::memory::MemoryStore;
//! use std::sync::Arc;
//!
//! // A fresh backend per test: for PostgreSQL a fresh schema, for Redis a fresh key prefix.
//! async fn harness() -> Harness<MemoryStore> {
//!     let clock = ManualClock::starting_now();
//!     Harness { store: Arc::new(MemoryStore::with_clock(Arc::new(clock.clone()))), time: TimeControl::Manual(clock) }
//! }
//!
//! // One #[tokio::test] per conformance function.
//! clientnest_core::relational_conformance!(harness);
//! # fn main() {}
//! ```

use std::sync::Arc;

use chrono::Duration;

use crate::clock::ManualClock;

pub mod hostile;
pub mod kv;
pub mod relational;

/// How a test moves time forward.
#[derive(Debug, Clone)]
pub enum TimeControl {
    /// The backend reads this clock: advancing it is instant.
    Manual(ManualClock),
    /// The backend reads real time (e.g. Redis `TIME`): advancing sleeps.
    Real,
}

impl TimeControl {
    /// Let `by` pass for the backend.
    pub async fn advance(&self, by: Duration) {
        match self {
            TimeControl::Manual(c) => c.advance(by),
            TimeControl::Real => {
                let ms = u64::try_from(by.num_milliseconds()).unwrap_or(0);
                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            }
        }
    }

    /// Whether time is manual (tests may then use long durations freely).
    pub fn is_manual(&self) -> bool {
        matches!(self, TimeControl::Manual(_))
    }
}

/// What every conformance test receives: a fresh backend and control of its time.
#[derive(Debug)]
pub struct Harness<S: ?Sized> {
    /// The backend under test.
    pub store: Arc<S>,
    /// Its time.
    pub time: TimeControl,
}

impl<S: ?Sized> Clone for Harness<S> {
    fn clone(&self) -> Self {
        Self { store: Arc::clone(&self.store), time: self.time.clone() }
    }
}

/// What a conformance factory returns: a [`Harness`], or `Option<Harness>` where `None` skips
/// the test (an adapter whose service is absent; its factory says so loudly).
pub trait IntoHarness<S: ?Sized> {
    /// The harness, or `None` to skip.
    fn into_harness(self) -> Option<Harness<S>>;
}

impl<S: ?Sized> IntoHarness<S> for Harness<S> {
    fn into_harness(self) -> Option<Harness<S>> {
        Some(self)
    }
}

impl<S: ?Sized> IntoHarness<S> for Option<Harness<S>> {
    fn into_harness(self) -> Option<Harness<S>> {
        self
    }
}

/// Expands to one `#[tokio::test]` per listed conformance function of `$module`, each calling
/// `$factory().await` for a fresh harness.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_tests {
    ($module:ident, $factory:path; $($name:ident),+ $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let Some(harness) = $crate::conformance::IntoHarness::into_harness($factory().await) else {
                    return;
                };
                $crate::conformance::$module::$name(&harness).await;
            }
        )+
    };
}

/// Every key-value port in one bound, re-exported from [`ports`](crate::ports): what the [`kv`]
/// conformance tests take.
pub use crate::ports::KvStores;

/// Generates one `#[tokio::test]` per key-value conformance test ([`kv`]), each on a fresh
/// harness from `$factory`, an `async fn() -> Harness<S>` where `S` implements [`KvStores`].
///
/// ```no_run
/// use clientnest_core::clock::ManualClock;
/// use clientnest_core::conformance::{Harness, TimeControl};
/// use clientnest_core::memory::MemoryKv;
/// use std::sync::Arc;
///
/// // Redis adapters use a fresh key prefix per test and `TimeControl::Real`.
/// async fn harness() -> Harness<MemoryKv> {
///     let clock = ManualClock::starting_now();
///     Harness { store: Arc::new(MemoryKv::with_clock(Arc::new(clock.clone()))), time: TimeControl::Manual(clock) }
/// }
///
/// clientnest_core::kv_conformance!(harness);
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! kv_conformance {
    ($factory:path) => {
        $crate::__conformance_tests!(kv, $factory;
            session_create_get_round_trip, session_ids_are_unique, session_touch_slides_expiry, session_expires,
            session_delete, session_revoke_user_sessions, session_invalid_input_rejected,
            cache_set_get_delete, cache_entry_expires, cache_typed_get_set, cache_get_or_load_runs_loader_once,
            cache_get_or_load_none_is_not_cached, cache_api_key_params_order_insensitive, cache_lock_token_semantics,
            cache_lock_expires, cache_invalid_input_rejected,
            cache_aside_never_serves_a_stale_user, cache_aside_stores_no_password_hash, cache_generation_guards_stores,
            queue_priority_then_fifo, queue_fifo_within_priority, queue_delay_holds_job, queue_ack_removes_job,
            queue_unknown_lease_refused, queue_visibility_timeout_redelivers, queue_reserve_recovers_expired_lease,
            queue_extend_keeps_job_invisible, queue_fail_backoff_then_dead_letter, queue_zero_backoff_retries_at_once,
            queue_dead_letters_oldest_first, queue_replay_dead, queue_counts_each_state, queue_idempotency_key,
            queue_concurrent_workers_each_job_once, queues_are_independent, queue_invalid_input_rejected,
            rate_burst_then_refusal, rate_recovers_after_waiting, rate_subjects_independent, rate_invalid_input_rejected,
            temp_put_get_take_delete, temp_take_once_concurrently, temp_expires, temp_invalid_input_rejected,
            temp_put_if_absent_once, webhook_replay_refused,
            hostile_temp_keys_round_trip_without_collision, hostile_cache_keys_round_trip_without_collision,
            hostile_rate_subjects_do_not_collide, hostile_payloads_round_trip, hostile_session_permissions_round_trip,
            keyspaces_are_separate, oversize_values_and_empty_keys_rejected,
        );
    };
}

/// Generates one `#[tokio::test]` per relational conformance test ([`relational`]), each on a
/// fresh harness from `$factory`, an `async fn() -> Harness<S>` where `S` implements
/// [`Repositories`](crate::ports::Repositories) and reads the harness's clock.
///
/// ```no_run
/// use clientnest_core::clock::ManualClock;
/// use clientnest_core::conformance::{Harness, TimeControl};
/// use clientnest_core::memory::MemoryStore;
/// use std::sync::Arc;
///
/// // PostgreSQL adapters use a fresh schema per test, on a manual clock as well.
/// async fn harness() -> Harness<MemoryStore> {
///     let clock = ManualClock::starting_now();
///     Harness { store: Arc::new(MemoryStore::with_clock(Arc::new(clock.clone()))), time: TimeControl::Manual(clock) }
/// }
///
/// clientnest_core::relational_conformance!(harness);
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! relational_conformance {
    ($factory:path) => {
        $crate::__conformance_tests!(relational, $factory;
            users_create_get_and_find_by_email, users_email_unique_regardless_of_case, users_email_format_checked,
            users_field_rules, users_update_rules, users_update_applies_patch, users_not_found_and_delete,
            users_concurrent_same_email,
            teams_create_makes_owner_membership, teams_create_rules, teams_members_unique_and_lookup,
            teams_update_and_remove_members, teams_update_get_delete, teams_of_user_lists_memberships,
            accounts_connect_and_get, accounts_reconnect_keeps_refresh_token, accounts_unique_per_platform_and_team,
            accounts_references, accounts_field_rules, accounts_update_and_delete, accounts_expiring_before_order,
            posts_create_with_media_in_order, posts_create_published_sets_published_at, posts_platform_text_limits,
            posts_platform_media_rules, posts_field_rules, posts_references, posts_update_rechecks_platform_fit,
            posts_list_filters_by_status, posts_feed_published_newest_first, posts_import_all_or_nothing,
            comments_ingest_skips_duplicates, comments_ingest_references, comments_ingest_rules, comments_inbox_filters,
            comments_triage, comments_send_response_marks_replied, comments_response_life_cycle,
            comments_response_references, comments_responses_newest_first,
            templates_crud_and_filter, templates_rules_and_references, templates_concurrent_use_counting,
            templates_public_listed_across_teams,
            schedules_create_makes_post_scheduled, schedules_create_rules, schedules_create_references,
            schedules_claim_when_due_with_lease, schedules_claim_order_and_limits,
            schedules_claim_exactly_once_concurrently, schedules_complete_by_holder_only,
            schedules_complete_keeps_published_at, schedules_fail_retries_then_fails, schedules_lease_recovery,
            schedules_renew_lease_extends, schedules_cancel_only_pending, schedules_inactive_account_not_claimed,
            schedules_list_filters, schedules_claims_fenced_per_claim_not_per_worker,
            schedules_stale_tokens_lose_races, schedules_publish_mark_and_unknown_outcome,
            schedules_mark_refused_after_lapse, schedules_poison_claims_end_failed,
            schedules_release_unstarted_claims, schedules_times_truncated_to_micros,
            schedules_one_live_per_post_and_account, schedules_post_status_follows_schedules,
            schedules_update_post_must_fit_live_schedules,
            automations_typed_round_trip, automations_config_rules, automations_references,
            automations_update_delete_and_active,
            webhooks_crud, webhooks_rules_and_references, webhooks_for_event_and_triggered,
            webhooks_short_secret_refused,
            ai_usage_record_and_list, ai_usage_checks, ai_usage_references, ai_usage_totals_per_feature,
            billing_create_and_active_subscription, billing_unique_subscription_id, billing_one_active_per_team,
            billing_checks, billing_references_and_not_found,
            notifications_notify_and_list, notifications_unread_and_mark_read, notifications_rules_and_references,
            tenancy_members, tenancy_accounts_and_posts, tenancy_comments_and_responses, tenancy_schedules,
            tenancy_templates_and_automations, tenancy_billing_and_ai_usage, tenancy_webhooks_between_users,
            tenancy_notifications_between_users,
            paging_stable_order_without_gaps, paging_with_concurrent_inserts, paging_invalid_limits_rejected,
            paging_cursor_round_trip, paging_every_list_operation,
            cascade_delete_user, cascade_delete_team, cascade_delete_account, cascade_delete_post,
            membership_outsider_refused_and_deleting_them_keeps_other_teams, membership_removed_member_refused,
            membership_status_must_be_active, membership_deactivated_user_refused,
            membership_checked_after_references, membership_import_all_or_nothing,
            membership_reconnect_by_member_only,
        );
    };
}
