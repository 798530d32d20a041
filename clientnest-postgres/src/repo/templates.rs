//! Content templates (`templates`), with an atomic usage counter.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use clientnest_core::ids::{TeamId, TemplateId, UserId};
use clientnest_core::model::{NewTemplate, Template, TemplateFilter, TemplateUpdate};
use clientnest_core::page::{Cursor, Page, PageRequest};
use clientnest_core::ports::TemplateRepository;
use clientnest_core::{Entity, Error, Result, validate};
use sqlx::types::Json;
use uuid::Uuid;

use super::members::{Acting, active_member, refusal};
use super::{Keyset, owned_row, page_of};
use crate::error::map_sqlx;
use crate::store::{PgStore, commit};

/// A `templates` row.
#[derive(sqlx::FromRow)]
struct TemplateRow {
    id: Uuid,
    user_id: Uuid,
    team_id: Uuid,
    name: String,
    description: String,
    content: String,
    category: String,
    hashtags: Json<Vec<String>>,
    is_public: bool,
    usage_count: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<TemplateRow> for Template {
    fn from(r: TemplateRow) -> Self {
        Template {
            id: TemplateId(r.id),
            user_id: UserId(r.user_id),
            team_id: TeamId(r.team_id),
            name: r.name,
            description: r.description,
            content: r.content,
            category: r.category,
            hashtags: r.hashtags.0,
            is_public: r.is_public,
            usage_count: r.usage_count,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

fn cursor(t: &Template) -> Cursor {
    Cursor::after(t.created_at, t.id)
}

/// The row, only if its user `$2` is an active member of the team `$3` (membership and user rows
/// locked `FOR SHARE`).
const INSERT: &str = concat!(
    "INSERT INTO templates (id, user_id, team_id, name, description, content, category, hashtags, \
       is_public, usage_count, created_at, updated_at) \
     SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10, $10 WHERE ",
    active_member!("$3", "$2"),
    " RETURNING *"
);

const LIST: &str = "SELECT * FROM templates WHERE team_id = $1 AND (created_at, id) < ($2, $3) \
     ORDER BY created_at DESC, id DESC LIMIT $4";

const LIST_BY_CATEGORY: &str = "SELECT * FROM templates WHERE team_id = $1 AND category = $5 \
     AND (created_at, id) < ($2, $3) ORDER BY created_at DESC, id DESC LIMIT $4";

const LIST_PUBLIC: &str = "SELECT * FROM templates WHERE is_public AND (created_at, id) < ($1, $2) \
     ORDER BY created_at DESC, id DESC LIMIT $3";

const SAVE: &str = "UPDATE templates SET name = $2, description = $3, content = $4, category = $5, hashtags = $6, \
     is_public = $7, updated_at = $8 WHERE id = $1 RETURNING *";

fn convert(r: TemplateRow) -> Result<Template> {
    Ok(r.into())
}

#[async_trait]
impl TemplateRepository for PgStore {
    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn create_template(&self, team: TeamId, template: NewTemplate) -> Result<Template> {
        validate::check(&template)?;
        let row: Option<TemplateRow> = sqlx::query_as(INSERT)
            .bind(TemplateId::new().0)
            .bind(template.user_id.0)
            .bind(team.0)
            .bind(&template.name)
            .bind(&template.description)
            .bind(&template.content)
            .bind(&template.category)
            .bind(Json(&template.hashtags))
            .bind(template.is_public)
            .bind(self.now())
            .fetch_optional(self.pool())
            .await
            .map_err(map_sqlx)?;
        match row {
            Some(row) => Ok(row.into()),
            None => Err(refusal(self.pool(), team, template.user_id, Acting::TEMPLATE).await),
        }
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn get_template(&self, team: TeamId, id: TemplateId) -> Result<Template> {
        let row: Option<TemplateRow> = sqlx::query_as("SELECT * FROM templates WHERE id = $1 AND team_id = $2")
            .bind(id.0)
            .bind(team.0)
            .fetch_optional(self.pool())
            .await
            .map_err(map_sqlx)?;
        row.map(Template::from).ok_or_else(|| Error::not_found(Entity::Template, id))
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn list_templates(&self, team: TeamId, filter: TemplateFilter, page: PageRequest) -> Result<Page<Template>> {
        let k = Keyset::of(&page)?;
        if filter.category.as_deref().is_some_and(|c| c.contains('\0')) {
            // No stored category holds a NUL (validation forbids it) and PostgreSQL text cannot.
            return Ok(Page { items: Vec::new(), next: None });
        }
        let query = match &filter.category {
            Some(category) => {
                sqlx::query_as(LIST_BY_CATEGORY).bind(team.0).bind(k.at).bind(k.id).bind(k.fetch).bind(category)
            }
            None => sqlx::query_as(LIST).bind(team.0).bind(k.at).bind(k.id).bind(k.fetch),
        };
        let rows: Vec<TemplateRow> = query.fetch_all(self.pool()).await.map_err(map_sqlx)?;
        page_of(rows, &page, convert, cursor)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn list_public_templates(&self, page: PageRequest) -> Result<Page<Template>> {
        let k = Keyset::of(&page)?;
        let rows: Vec<TemplateRow> = sqlx::query_as(LIST_PUBLIC)
            .bind(k.at)
            .bind(k.id)
            .bind(k.fetch)
            .fetch_all(self.pool())
            .await
            .map_err(map_sqlx)?;
        page_of(rows, &page, convert, cursor)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn update_template(&self, team: TeamId, id: TemplateId, update: TemplateUpdate) -> Result<Template> {
        validate::check(&update)?;
        let now = self.now();
        let mut tx = self.begin().await?;
        let row: TemplateRow = owned_row(
            &mut *tx,
            "SELECT * FROM templates WHERE id = $1 AND team_id = $2 FOR UPDATE",
            id.0,
            team.0,
            Entity::Template,
            id,
        )
        .await?;
        let mut template: Template = Template::from(row);
        update.apply(&mut template, now);
        let row: TemplateRow = sqlx::query_as(SAVE)
            .bind(template.id.0)
            .bind(&template.name)
            .bind(&template.description)
            .bind(&template.content)
            .bind(&template.category)
            .bind(Json(&template.hashtags))
            .bind(template.is_public)
            .bind(template.updated_at)
            .fetch_one(&mut *tx)
            .await
            .map_err(map_sqlx)?;
        commit(tx).await?;
        Ok(row.into())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn delete_template(&self, team: TeamId, id: TemplateId) -> Result<()> {
        self.delete_owned("DELETE FROM templates WHERE id = $1 AND team_id = $2", id.0, team.0, Entity::Template, id)
            .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn record_template_use(&self, team: TeamId, id: TemplateId) -> Result<i32> {
        let count: Option<i32> = sqlx::query_scalar(
            "UPDATE templates SET usage_count = usage_count + 1 WHERE id = $1 AND team_id = $2 RETURNING usage_count",
        )
        .bind(id.0)
        .bind(team.0)
        .fetch_optional(self.pool())
        .await
        .map_err(map_sqlx)?;
        count.ok_or_else(|| Error::not_found(Entity::Template, id))
    }
}
