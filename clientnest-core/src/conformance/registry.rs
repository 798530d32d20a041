//! Registration: one macro per port, each turning that port's conformance functions into
//! `#[tokio::test]`s, and the same names as a `pub const` list, both produced from one token
//! list (so a list cannot drift from its macro). The umbrellas [`kv_conformance!`],
//! [`relational_conformance!`] and [`analytics_conformance!`] expand every per-port macro of
//! their side.
//!
//! Every public conformance function is in exactly one list of [`registered`], or in
//! [`OUTSIDE_MACROS`]; the core test `registered::every_conformance_function_is_registered_once`
//! reads the sources and checks it.
//!
//! [`kv_conformance!`]: crate::kv_conformance
//! [`relational_conformance!`]: crate::relational_conformance
//! [`analytics_conformance!`]: crate::analytics_conformance

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

/// Defines, for each port, its exported test macro and its `pub const` name list from the same
/// names; with an umbrella, also the umbrella macro expanding every port's macro and a `pub
/// const` of `(macro, names)` pairs. `$d` is a literal `$`, for the generated macros' own
/// metavariables.
macro_rules! register {
    ($d:tt $(#[$umbrella_doc:meta])* $umbrella:ident, $ports:ident {
        $( $(#[$doc:meta])* $macro:ident => $list:ident, $module:ident [$($name:ident),+ $(,)?] )+
    }) => {
        register!($d { $( $(#[$doc])* $macro => $list, $module [$($name),+] )+ });

        $(#[$umbrella_doc])*
        #[macro_export]
        macro_rules! $umbrella {
            ($d factory:path) => {
                $( $crate::$macro!($d factory); )+
            };
        }

        #[doc = concat!("Every port macro [`", stringify!($umbrella), "!`](crate::", stringify!($umbrella),
            ") expands, with the names it registers.")]
        pub const $ports: &[(&str, &[&str])] = &[$((stringify!($macro), $list)),+];
    };
    ($d:tt { $( $(#[$doc:meta])* $macro:ident => $list:ident, $module:ident [$($name:ident),+ $(,)?] )+ }) => {
        $(
            $(#[$doc])*
            #[macro_export]
            macro_rules! $macro {
                ($d factory:path) => {
                    $crate::__conformance_tests!($module, $d factory; $($name),+);
                };
            }

            #[doc = concat!("The conformance functions [`", stringify!($macro), "!`](crate::", stringify!($macro),
                ") registers, by name.")]
            pub const $list: &[&str] = &[$(stringify!($name)),+];
        )+
    };
}

register! { $
    /// Generates one `#[tokio::test]` per key-value conformance test ([`kv`](crate::conformance::kv)), each
    /// on a fresh harness from `$factory`, an `async fn() -> Harness<S>` (or
    /// `Option<Harness<S>>`, `None` skipping) where `S` implements
    /// [`KvStores`](crate::ports::KvStores): every per-port macro of the key-value side.
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
    kv_conformance, KV_PORTS {
        /// Sessions: `S:` [`SessionStore`](crate::ports::SessionStore).
        session_conformance => SESSION_TESTS, kv [
            session_create_get_round_trip, session_ids_are_unique, session_touch_slides_expiry, session_expires,
            session_delete, session_revoke_user_sessions, session_invalid_input_rejected,
            hostile_session_permissions_round_trip,
        ]
        /// The cache, its typed access, get-or-load, load locks, generations and the user cache
        /// over it: `S:` [`Cache`](crate::ports::Cache).
        cache_conformance => CACHE_TESTS, kv [
            cache_set_get_delete, cache_entry_expires, cache_typed_get_set, cache_get_or_load_runs_loader_once,
            cache_get_or_load_none_is_not_cached, cache_api_key_params_order_insensitive, cache_lock_token_semantics,
            cache_lock_expires, cache_invalid_input_rejected,
            cache_aside_never_serves_a_stale_user, cache_aside_stores_no_password_hash, cache_generation_guards_stores,
            hostile_cache_keys_round_trip_without_collision,
        ]
        /// The job queue: `S:` [`JobQueue`](crate::ports::JobQueue).
        queue_conformance => QUEUE_TESTS, kv [
            queue_priority_then_fifo, queue_fifo_within_priority, queue_delay_holds_job, queue_ack_removes_job,
            queue_enqueue_batch_in_order, queue_enqueue_batch_is_atomic, queue_ack_batch_answers_each_lease, queue_ack_and_reserve_acks_then_takes_the_next,
            queue_ack_and_reserve_refused_changes_nothing,
            queue_unknown_lease_refused, queue_visibility_timeout_redelivers, queue_reserve_recovers_expired_lease,
            queue_extend_keeps_job_invisible, queue_fail_backoff_then_dead_letter, queue_zero_backoff_retries_at_once,
            queue_dead_letters_oldest_first, queue_replay_dead, queue_counts_each_state, queue_idempotency_key,
            queue_concurrent_workers_each_job_once, queues_are_independent, queue_invalid_input_rejected,
            queue_reserve_batch_order_and_leases, queue_reserve_batch_recovers_expired_and_due,
            queue_reserve_batch_concurrent_each_job_once,
        ]
        /// The rate limiter: `S:` [`RateLimiter`](crate::ports::RateLimiter).
        rate_limit_conformance => RATE_LIMIT_TESTS, kv [
            rate_burst_then_refusal, rate_recovers_after_waiting, rate_subjects_independent, rate_invalid_input_rejected,
            hostile_rate_subjects_do_not_collide,
        ]
        /// Temporary data and the webhook replay guard over it: `S:`
        /// [`TempStore`](crate::ports::TempStore).
        temp_conformance => TEMP_TESTS, kv [
            temp_put_get_take_delete, temp_take_once_concurrently, temp_expires, temp_invalid_input_rejected,
            temp_put_if_absent_once, webhook_replay_refused, hostile_temp_keys_round_trip_without_collision,
        ]
        /// Tests over several key-value ports at once (separate keyspaces, payloads and size
        /// limits in every port): `S:` [`KvStores`](crate::ports::KvStores) or the ports each
        /// function names.
        kv_cross_port_conformance => KV_CROSS_PORT_TESTS, kv [
            hostile_payloads_round_trip, keyspaces_are_separate, oversize_values_and_empty_keys_rejected,
        ]
    }
}

register! { $
    /// Generates one `#[tokio::test]` per relational conformance test
    /// ([`relational`](crate::conformance::relational)), each on a fresh harness from `$factory`, an
    /// `async fn() -> Harness<S>` (or `Option<Harness<S>>`, `None` skipping) where `S`
    /// implements [`Repositories`](crate::ports::Repositories) and reads the harness's clock:
    /// every per-port macro of the relational side. The re-seal sweep
    /// ([`reseal_conformance!`](crate::reseal_conformance)) is apart: an optional ability.
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
    relational_conformance, RELATIONAL_PORTS {
        /// Users: `S:` [`UserRepository`](crate::ports::UserRepository).
        user_conformance => USER_TESTS, relational [
            users_create_get_and_find_by_email, users_email_unique_regardless_of_case, users_email_format_checked,
            users_field_rules, users_update_rules, users_update_applies_patch, users_not_found_and_delete,
            users_concurrent_same_email,
        ]
        /// Teams and memberships: `S:` users and [`TeamRepository`](crate::ports::TeamRepository).
        team_conformance => TEAM_TESTS, relational [
            teams_create_makes_owner_membership, teams_create_rules, teams_members_unique_and_lookup,
            teams_update_and_remove_members, teams_update_get_delete, teams_of_user_lists_memberships,
        ]
        /// Social accounts: `S:` users, teams and
        /// [`SocialAccountRepository`](crate::ports::SocialAccountRepository).
        account_conformance => ACCOUNT_TESTS, relational [
            accounts_connect_and_get, accounts_reconnect_keeps_refresh_token, accounts_unique_per_platform_and_team,
            accounts_references, accounts_field_rules, accounts_update_and_delete, accounts_expiring_before_order,
        ]
        /// Posts and their media: `S:` users, teams and
        /// [`PostRepository`](crate::ports::PostRepository).
        post_conformance => POST_TESTS, relational [
            posts_create_with_media_in_order, posts_create_published_sets_published_at, posts_platform_text_limits,
            posts_platform_media_rules, posts_field_rules, posts_references, posts_update_rechecks_platform_fit,
            posts_list_filters_by_status, posts_feed_published_newest_first, posts_import_all_or_nothing,
            posts_attach_media_appends_with_content_hash, posts_attach_media_refusals, posts_attach_media_concurrently,
            posts_detach_media_renumbers,
        ]
        /// Comments and responses: `S:` users, teams, accounts and
        /// [`CommentRepository`](crate::ports::CommentRepository).
        comment_conformance => COMMENT_TESTS, relational [
            comments_ingest_skips_duplicates, comments_ingest_references, comments_ingest_rules, comments_inbox_filters,
            comments_triage, comments_send_response_marks_replied, comments_response_life_cycle,
            comments_response_references, comments_responses_newest_first,
        ]
        /// Templates: `S:` users, teams and
        /// [`TemplateRepository`](crate::ports::TemplateRepository).
        template_conformance => TEMPLATE_TESTS, relational [
            templates_crud_and_filter, templates_rules_and_references, templates_concurrent_use_counting,
            templates_public_listed_across_teams,
        ]
        /// Schedules and the claim protocol: `S:` users, teams, accounts, posts and
        /// [`ScheduleRepository`](crate::ports::ScheduleRepository).
        schedule_conformance => SCHEDULE_TESTS, relational [
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
            schedules_create_post_with_schedules_together, schedules_create_post_with_schedules_all_or_nothing,
        ]
        /// Automations: `S:` users, teams, templates and
        /// [`AutomationRepository`](crate::ports::AutomationRepository).
        automation_conformance => AUTOMATION_TESTS, relational [
            automations_typed_round_trip, automations_config_rules, automations_references,
            automations_update_delete_and_active,
        ]
        /// Webhooks: `S:` users and [`WebhookRepository`](crate::ports::WebhookRepository).
        webhook_conformance => WEBHOOK_TESTS, relational [
            webhooks_crud, webhooks_rules_and_references, webhooks_for_event_and_triggered,
            webhooks_short_secret_refused,
        ]
        /// AI usage: `S:` users, teams and [`AiUsageRepository`](crate::ports::AiUsageRepository).
        ai_usage_conformance => AI_USAGE_TESTS, relational [
            ai_usage_record_and_list, ai_usage_checks, ai_usage_references, ai_usage_totals_per_feature,
        ]
        /// Billing: `S:` users, teams and [`BillingRepository`](crate::ports::BillingRepository).
        billing_conformance => BILLING_TESTS, relational [
            billing_create_and_active_subscription, billing_unique_subscription_id, billing_one_active_per_team,
            billing_checks, billing_references_and_not_found,
        ]
        /// Notifications: `S:` users and
        /// [`NotificationRepository`](crate::ports::NotificationRepository).
        notification_conformance => NOTIFICATION_TESTS, relational [
            notifications_notify_and_list, notifications_unread_and_mark_read, notifications_rules_and_references,
        ]
        /// Rules across the repositories: tenancy, paging (every list), cascades and acting-user
        /// membership: `S:` [`Repositories`](crate::ports::Repositories) or the ports each
        /// function names.
        relational_cross_port_conformance => RELATIONAL_CROSS_PORT_TESTS, relational [
            tenancy_members, tenancy_accounts_and_posts, tenancy_comments_and_responses, tenancy_schedules,
            tenancy_templates_and_automations, tenancy_billing_and_ai_usage, tenancy_webhooks_between_users,
            tenancy_notifications_between_users, tenancy_child_rows_carry_their_team,
            paging_stable_order_without_gaps, paging_with_concurrent_inserts, paging_invalid_limits_rejected,
            paging_cursor_round_trip, paging_every_list_operation,
            cascade_delete_user, cascade_delete_team, cascade_delete_account, cascade_delete_post,
            membership_outsider_refused_and_deleting_them_keeps_other_teams, membership_removed_member_refused,
            membership_status_must_be_active, membership_deactivated_user_refused,
            membership_checked_after_references, membership_import_all_or_nothing,
            membership_reconnect_by_member_only,
        ]
    }
}

register! { $ {
    /// The re-seal sweep, an optional ability apart from
    /// [`relational_conformance!`](crate::relational_conformance): `S:` users, teams, accounts,
    /// webhooks and [`SecretReseal`](crate::ports::SecretReseal).
    reseal_conformance => RESEAL_TESTS, relational [reseal_sweep_pages_and_resumes]
} }

register! { $
    /// Generates one `#[tokio::test]` per analytics conformance test
    /// ([`analytics`](crate::conformance::analytics)), each on a fresh harness from `$factory`, an
    /// `async fn() -> Harness<S>` (or `Option<Harness<S>>`, `None` skipping) where `S`
    /// implements [`Analytics`](crate::analytics::Analytics): every per-port macro of the
    /// analytics side. The tests use fixed times and fresh teams, not the harness's clock, so
    /// `TimeControl::Real` is fine.
    ///
    /// ```no_run
    /// use clientnest_core::conformance::{Harness, TimeControl};
    /// use clientnest_core::memory::MemoryAnalytics;
    /// use std::sync::Arc;
    ///
    /// async fn harness() -> Harness<MemoryAnalytics> {
    ///     Harness { store: Arc::new(MemoryAnalytics::new()), time: TimeControl::Real }
    /// }
    ///
    /// clientnest_core::analytics_conformance!(harness);
    /// # fn main() {}
    /// ```
    analytics_conformance, ANALYTICS_PORTS {
        /// The writer's checks and keys, read back through every reader: `S:`
        /// [`Analytics`](crate::analytics::Analytics).
        analytics_writer_conformance => ANALYTICS_WRITER_TESTS, analytics [
            analytics_rows_round_trip, analytics_bad_row_refuses_batch, analytics_resent_rows_replace,
        ]
        /// Engagement history and best time to post: `S:` the writer and
        /// [`EngagementReader`](crate::analytics::EngagementReader).
        engagement_conformance => ENGAGEMENT_TESTS, analytics [
            engagement_post_days_in_zone, engagement_non_whole_hour_zone, engagement_team_sums_over_posts,
            best_time_grid_in_zone, best_time_window_bounds,
        ]
        /// Service performance: `S:` the writer and
        /// [`PerformanceReader`](crate::analytics::PerformanceReader).
        performance_conformance => PERFORMANCE_TESTS, analytics [
            performance_percentiles_per_minute, performance_per_hour_and_service_filter,
        ]
        /// AI metrics: `S:` the writer and [`AiMetricsReader`](crate::analytics::AiMetricsReader).
        ai_metrics_conformance => AI_METRICS_TESTS, analytics [ai_rollup_per_day_and_month_in_zone, ai_rollup_orders_features_by_stored_name]
        /// Costs: `S:` the writer and [`CostReader`](crate::analytics::CostReader).
        cost_conformance => COST_TESTS, analytics [costs_per_period_service_and_currency]
        /// Events: `S:` the writer and [`EventReader`](crate::analytics::EventReader).
        event_conformance => EVENT_TESTS, analytics [events_counts_and_distinct_users, events_hours_across_dst_changes, events_order_platforms_by_stored_name]
        /// Metrics: `S:` the writer and [`MetricReader`](crate::analytics::MetricReader).
        metric_conformance => METRIC_TESTS, analytics [metrics_rollup_with_dimension_filter]
        /// Retention, refresh, bucket limits and extreme times across every reader: `S:`
        /// [`Analytics`](crate::analytics::Analytics).
        analytics_maintenance_conformance => ANALYTICS_MAINTENANCE_TESTS, analytics [
            maintenance_drop_before_removes_old_rows, maintenance_refresh_keeps_reads_and_shows_late_rows,
            maintenance_too_many_buckets_refused, maintenance_extreme_times_round_trip,
        ]
    }
}

register! { $ {
    /// Generates one `#[tokio::test]` per media conformance test
    /// ([`media`](crate::conformance::media)), each on a fresh harness from `$factory`, an
    /// `async fn() -> Harness<S>` (or `Option<Harness<S>>`, `None` skipping) where `S`
    /// implements [`MediaStore`](crate::media::MediaStore) and
    /// [`PresignedClient`](crate::conformance::media::PresignedClient).
    media_conformance => MEDIA_TESTS, media [
        media_put_get_head_delete, media_get_ranges, media_list_per_team_and_post,
        media_keys_outside_the_team_are_refused, media_content_mismatch_is_refused,
        media_oversized_upload_is_aborted_early, media_failed_body_leaves_nothing,
        media_dropped_upload_leaves_nothing, media_large_upload_round_trips, media_presigned_get_and_put,
        media_presigned_urls_expire_and_resist_tampering,
    ]
} }

/// Public conformance functions no macro registers, because they take more than a harness or
/// are followed by a backend's own checks; each backend calls them itself: the queue's
/// dead-letter retention (given the retention the store was built with), the hostile-input
/// census (the PostgreSQL adapter then checks its tables), one hostile case, private hosts
/// after opting in (given a store that opted in), the re-seal sweep helper, and the agreement of
/// `ai_usage` and `ai_metrics` (given a relational harness and an analytics backend).
pub const OUTSIDE_MACROS: &[&str] = &[
    "queue_dead_letter_retention",
    "hostile_inputs",
    "check_case",
    "private_hosts_when_opted_in",
    "sweep",
    "ai_usage_and_ai_metrics_agree",
];

/// Every registration list, `(macro, names)`: the key-value, relational and analytics ports,
/// then the re-seal sweep.
pub fn registered() -> impl Iterator<Item = (&'static str, &'static [&'static str])> {
    KV_PORTS
        .iter()
        .chain(RELATIONAL_PORTS)
        .chain(ANALYTICS_PORTS)
        .copied()
        .chain([("reseal_conformance", RESEAL_TESTS), ("media_conformance", MEDIA_TESTS)])
}
