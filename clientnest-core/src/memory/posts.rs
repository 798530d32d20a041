//! Posts and their media: created together, imported in bulk all or nothing, kept fitting their
//! platforms on update and as media are attached and detached (under the store's one lock, so
//! concurrent attaches get distinct `order_index` values); delete cascades to media and schedules.

use async_trait::async_trait;

use super::store::{MemoryStore, Tables, page_desc};
use crate::constraint::{FK_POSTS_TEAM, FK_POSTS_USER};
use crate::error::{Entity, Error, Result};
use crate::ids::{PostId, PostMediaId, TeamId};
use crate::model::{
    ImportedPost, NewPost, NewPostMedia, Post, PostFilter, PostMedia, PostStatus, PostUpdate, PostWithMedia,
    check_platform_fit, detach_from, import_records,
};
use crate::page::{Keyed, Page, PageRequest};
use crate::ports::PostRepository;
use crate::validate;

impl Tables {
    /// A post of the team, or `NotFound`.
    pub(super) fn team_post(&self, team: TeamId, id: PostId) -> Result<&Post> {
        self.posts.get(&id).filter(|p| p.team_id == team).ok_or_else(|| Error::not_found(Entity::Post, id))
    }

    pub(super) fn insert_post(&mut self, record: PostWithMedia) {
        self.media.insert(record.post.id, record.media);
        self.posts.insert(record.post.id, record.post);
    }
}

#[async_trait]
impl PostRepository for MemoryStore {
    async fn create_post(&self, team: TeamId, post: NewPost) -> Result<PostWithMedia> {
        let record = post.into_record(team, self.now())?;
        let user = record.post.user_id;
        let mut t = self.tables();
        t.require_acting(team, user, Entity::Post, (FK_POSTS_TEAM, FK_POSTS_USER))?;
        t.insert_post(record.clone());
        Ok(record)
    }

    async fn import_posts(&self, team: TeamId, posts: Vec<ImportedPost>) -> Result<u64> {
        let records = import_records(team, posts)?;
        let mut t = self.tables();
        t.require_team(team, Entity::Post, FK_POSTS_TEAM)?;
        for r in &records {
            t.require_user(r.post.user_id, Entity::Post, FK_POSTS_USER)?;
        }
        for r in &records {
            t.require_member(team, r.post.user_id, Entity::Post)?;
        }
        let count = records.len() as u64;
        for r in records {
            t.insert_post(r);
        }
        Ok(count)
    }

    async fn get_post(&self, team: TeamId, id: PostId) -> Result<PostWithMedia> {
        let t = self.tables();
        let post = t.team_post(team, id)?.clone();
        Ok(t.with_media(post))
    }

    async fn update_post(&self, team: TeamId, id: PostId, update: PostUpdate) -> Result<Post> {
        validate::check(&update)?;
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
        Ok(page_desc(rows, &page, Post::cursor))
    }

    async fn feed(&self, team: TeamId, page: PageRequest) -> Result<Page<PostWithMedia>> {
        page.check()?;
        let t = self.tables();
        let rows = t.posts.values().filter(|p| p.team_id == team && p.status == PostStatus::Published);
        Ok(page_desc(rows, &page, Post::cursor).map(|p| t.with_media(p)))
    }

    async fn attach_media(&self, team: TeamId, post: PostId, media: NewPostMedia) -> Result<PostMedia> {
        media.check()?;
        let now = self.now();
        let mut t = self.tables();
        let mut next = t.team_post(team, post)?.clone();
        let fit = t.platforms_to_fit(&next);
        let attached = media.attach_to(&mut next, &t.media_kinds(post), &fit, now)?;
        t.media.entry(post).or_default().push(attached.clone());
        t.posts.insert(post, next);
        Ok(attached)
    }

    async fn detach_media(&self, team: TeamId, post: PostId, media: PostMediaId) -> Result<PostMedia> {
        let now = self.now();
        let mut t = self.tables();
        let mut next = t.team_post(team, post).map_err(|_| Error::not_found(Entity::PostMedia, media))?.clone();
        let mut items = t.media.get(&post).cloned().unwrap_or_default();
        let fit = t.platforms_to_fit(&next);
        let removed = detach_from(&mut next, &mut items, media, &fit, now)?;
        t.media.insert(post, items);
        t.posts.insert(post, next);
        Ok(removed)
    }
}
