//! Posts and their media: created together, imported in bulk all or nothing, kept fitting their
//! platforms on update; delete cascades to media and schedules.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::store::{MemoryStore, Tables, page_desc, stored};
use crate::constraint::{FK_POSTS_TEAM, FK_POSTS_USER};
use crate::error::{Entity, Error, Result};
use crate::ids::{PostId, PostMediaId, TeamId};
use crate::model::{
    ImportedPost, NewPost, Post, PostFilter, PostMedia, PostStatus, PostUpdate, PostWithMedia, check_import,
    check_platform_fit,
};
use crate::page::{Cursor, Page, PageRequest};
use crate::ports::PostRepository;
use crate::validate;

fn post_cursor(p: &Post) -> Cursor {
    Cursor::after(p.created_at, p.id)
}

/// The stored post and media of a (checked) input, created at `at`; a `published` post is
/// published at `at` too.
fn build(team: TeamId, input: NewPost, at: DateTime<Utc>) -> (Post, Vec<PostMedia>) {
    let id = PostId::new();
    let media = input
        .media
        .into_iter()
        .zip(0..)
        .map(|(m, order_index)| PostMedia {
            id: PostMediaId::new(),
            post_id: id,
            media_type: m.media_type,
            file_url: m.file_url,
            file_size: m.file_size,
            dimensions: m.dimensions,
            alt_text: m.alt_text,
            order_index,
            created_at: at,
        })
        .collect();
    let post = Post {
        id,
        user_id: input.user_id,
        team_id: team,
        title: input.title,
        content: input.content,
        hashtags: input.hashtags,
        status: input.status,
        scheduled_at: input.scheduled_at.map(stored),
        published_at: (input.status == PostStatus::Published).then_some(at),
        ai_generated: input.ai_generated,
        ai_prompt: input.ai_prompt,
        engagement: serde_json::json!({}),
        created_at: at,
        updated_at: at,
        metadata: input.metadata,
        platforms: input.platforms,
    };
    (post, media)
}

impl Tables {
    /// A post of the team, or `NotFound`.
    pub(super) fn team_post(&self, team: TeamId, id: PostId) -> Result<&Post> {
        self.posts.get(&id).filter(|p| p.team_id == team).ok_or_else(|| Error::not_found(Entity::Post, id))
    }

    fn insert_post(&mut self, post: Post, media: Vec<PostMedia>) {
        self.media.insert(post.id, media);
        self.posts.insert(post.id, post);
    }
}

#[async_trait]
impl PostRepository for MemoryStore {
    async fn create_post(&self, team: TeamId, post: NewPost) -> Result<PostWithMedia> {
        post.check()?;
        let now = self.now();
        let mut t = self.tables();
        t.require_team(team, Entity::Post, FK_POSTS_TEAM)?;
        t.require_user(post.user_id, Entity::Post, FK_POSTS_USER)?;
        t.require_member(team, post.user_id, Entity::Post)?;
        let (post, media) = build(team, post, now);
        t.insert_post(post.clone(), media.clone());
        Ok(PostWithMedia { post, media })
    }

    async fn import_posts(&self, team: TeamId, posts: Vec<ImportedPost>) -> Result<u64> {
        check_import(&posts)?;
        let mut t = self.tables();
        t.require_team(team, Entity::Post, FK_POSTS_TEAM)?;
        for p in &posts {
            t.require_user(p.post.user_id, Entity::Post, FK_POSTS_USER)?;
        }
        for p in &posts {
            t.require_member(team, p.post.user_id, Entity::Post)?;
        }
        let count = posts.len() as u64;
        for p in posts {
            let (post, media) = build(team, p.post, stored(p.created_at));
            t.insert_post(post, media);
        }
        Ok(count)
    }

    async fn get_post(&self, team: TeamId, id: PostId) -> Result<PostWithMedia> {
        let t = self.tables();
        let post = t.team_post(team, id)?.clone();
        Ok(t.with_media(post))
    }

    async fn update_post(&self, team: TeamId, id: PostId, mut update: PostUpdate) -> Result<Post> {
        validate::check(&update)?;
        update.scheduled_at = update.scheduled_at.map(|s| s.map(stored));
        let now = self.now();
        let mut t = self.tables();
        let mut next = t.team_post(team, id)?.clone();
        update.apply(&mut next, now);
        check_platform_fit(&next.content, &t.media_kinds(id), &t.platforms_to_fit(&next))?;
        t.posts.insert(id, next.clone());
        Ok(next)
    }

    async fn delete_post(&self, team: TeamId, id: PostId) -> Result<()> {
        let mut t = self.tables();
        t.team_post(team, id)?;
        t.remove_posts(&[id].into());
        Ok(())
    }

    async fn list_posts(&self, team: TeamId, filter: PostFilter, page: PageRequest) -> Result<Page<Post>> {
        page.check()?;
        let t = self.tables();
        let rows = t.posts.values().filter(|p| p.team_id == team && filter.status.is_none_or(|s| p.status == s));
        Ok(page_desc(rows, &page, post_cursor))
    }

    async fn feed(&self, team: TeamId, page: PageRequest) -> Result<Page<PostWithMedia>> {
        page.check()?;
        let t = self.tables();
        let rows = t.posts.values().filter(|p| p.team_id == team && p.status == PostStatus::Published);
        Ok(page_desc(rows, &page, post_cursor).map(|p| t.with_media(p)))
    }
}
