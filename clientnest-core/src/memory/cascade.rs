//! `ON DELETE CASCADE`, as the seed's ERD has it. Each function removes a set of rows and
//! everything under them, indexes included; callers hold the lock, so a cascade is atomic.

use std::collections::HashSet;

use super::store::Tables;
use crate::ids::*;

impl Tables {
    /// A user → memberships, accounts, posts, templates, AI usage, schedules, automations,
    /// webhooks, responses, notifications, and the teams they own with all their rows.
    pub(super) fn remove_user(&mut self, id: UserId) {
        let owned: HashSet<TeamId> = self.teams.values().filter(|t| t.owner_id == id).map(|t| t.id).collect();
        self.remove_teams(&owned);
        let memberships: Vec<_> = self.members.values().filter(|m| m.user_id == id).map(|m| m.id).collect();
        self.remove_members(&memberships);
        let accounts = self.accounts.values().filter(|a| a.user_id == id).map(|a| a.id).collect();
        self.remove_accounts(&accounts);
        let posts = self.posts.values().filter(|p| p.user_id == id).map(|p| p.id).collect();
        self.remove_posts(&posts);
        self.responses.retain(|_, r| r.user_id != id);
        self.templates.retain(|_, t| t.user_id != id);
        self.ai_usage.retain(|_, u| u.user_id != id);
        self.schedules.retain(|_, s| s.user_id != id);
        self.automations.retain(|_, a| a.user_id != id);
        self.webhooks.retain(|_, w| w.user_id != id);
        self.notifications.retain(|_, n| n.user_id != id);
        if let Some(user) = self.users.remove(&id) {
            self.emails.remove(&user.email.to_lowercase());
        }
    }

    /// Teams → memberships, accounts, posts, templates, AI usage, schedules, automations, billing.
    pub(super) fn remove_teams(&mut self, teams: &HashSet<TeamId>) {
        if teams.is_empty() {
            return;
        }
        let memberships: Vec<_> = self.members.values().filter(|m| teams.contains(&m.team_id)).map(|m| m.id).collect();
        self.remove_members(&memberships);
        let accounts = self.accounts.values().filter(|a| teams.contains(&a.team_id)).map(|a| a.id).collect();
        self.remove_accounts(&accounts);
        let posts = self.posts.values().filter(|p| teams.contains(&p.team_id)).map(|p| p.id).collect();
        self.remove_posts(&posts);
        self.templates.retain(|_, t| !teams.contains(&t.team_id));
        self.ai_usage.retain(|_, u| !teams.contains(&u.team_id));
        self.schedules.retain(|_, s| !teams.contains(&s.team_id));
        self.automations.retain(|_, a| !teams.contains(&a.team_id));
        self.billing.retain(|_, b| !teams.contains(&b.team_id));
        for t in teams {
            self.teams.remove(t);
        }
    }

    /// Memberships (nothing hangs off them).
    pub(super) fn remove_members(&mut self, ids: &[TeamMemberId]) {
        for id in ids {
            if let Some(m) = self.members.remove(id) {
                self.member_keys.remove(&(m.team_id, m.user_id));
            }
        }
    }

    /// Social accounts → comments (→ responses), schedules on them.
    pub(super) fn remove_accounts(&mut self, accounts: &HashSet<SocialAccountId>) {
        if accounts.is_empty() {
            return;
        }
        let comments = self.comments.values().filter(|c| accounts.contains(&c.account_id)).map(|c| c.id).collect();
        self.remove_comments(&comments);
        self.schedules.retain(|_, s| !accounts.contains(&s.social_account_id));
        for id in accounts {
            if let Some(a) = self.accounts.remove(id) {
                self.account_keys.remove(&(a.platform, a.platform_id, a.team_id));
            }
        }
    }

    /// Posts → media, schedules.
    pub(super) fn remove_posts(&mut self, posts: &HashSet<PostId>) {
        if posts.is_empty() {
            return;
        }
        self.schedules.retain(|_, s| !posts.contains(&s.post_id));
        for id in posts {
            self.media.remove(id);
            self.posts.remove(id);
        }
    }

    /// Comments → responses.
    pub(super) fn remove_comments(&mut self, comments: &HashSet<CommentId>) {
        if comments.is_empty() {
            return;
        }
        self.responses.retain(|_, r| !comments.contains(&r.comment_id));
        for id in comments {
            if let Some(c) = self.comments.remove(id) {
                self.comment_keys.remove(&(c.account_id, c.platform_id));
            }
        }
    }
}
