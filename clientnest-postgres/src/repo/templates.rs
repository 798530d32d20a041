//! Content templates (`templates`), with a usage counter counted in core under the row's lock.
//!
//! Every column is named here once per form: the column list ([`template_columns!`]), the
//! binder ([`bind_template`]) and the row mapping (`Db<Template>`).

use async_trait::async_trait;
use clientnest_core::ids::{TeamId, TemplateId, UserId};
use clientnest_core::model::{NewTemplate, Template, TemplateFilter, TemplateUpdate};
use clientnest_core::page::{Page, PageRequest};
use clientnest_core::ports::TemplateRepository;
use clientnest_core::{Entity, Result, validate};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{FromRow, Row};

use super::members::{Acting, active_member, refusal};
use super::{Db, Keyset, PgQuery, limit_written, owned_row, record};
use crate::error::map_sqlx;
use crate::store::{PgStore, finish};

/// The columns of `templates`, in the order [`bind_template`] binds them.
macro_rules! template_columns {
    () => {
        "id, user_id, team_id, name, description, content, category, hashtags, is_public, usage_count, \
         created_at, updated_at"
    };
}

/// The placeholders of [`template_columns!`]: `$1` id ... `$12` updated_at.
macro_rules! template_values {
    () => {
        "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12"
    };
}

/// Bind every column of a template, `$1` to `$12` in [`template_columns!`] order.
fn bind_template(q: PgQuery, t: &Template) -> PgQuery {
    q.bind(t.id.0)
        .bind(t.user_id.0)
        .bind(t.team_id.0)
        .bind(t.name.clone())
        .bind(t.description.clone())
        .bind(t.content.clone())
        .bind(t.category.clone())
        .bind(Json(t.hashtags.clone()))
        .bind(t.is_public)
        .bind(t.usage_count)
        .bind(t.created_at)
        .bind(t.updated_at)
}

impl FromRow<'_, PgRow> for Db<Template> {
    fn from_row(row: &PgRow) -> sqlx::Result<Self> {
        Ok(Db(Template {
            id: TemplateId(row.try_get("id")?),
            user_id: UserId(row.try_get("user_id")?),
            team_id: TeamId(row.try_get("team_id")?),
            name: row.try_get("name")?,
            description: row.try_get("description")?,
            content: row.try_get("content")?,
            category: row.try_get("category")?,
            hashtags: row.try_get::<Json<Vec<String>>, _>("hashtags")?.0,
            is_public: row.try_get("is_public")?,
            usage_count: row.try_get("usage_count")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        }))
    }
}

/// The template core built (`$1`-`$12`, [`bind_template`]), only if its user `$2` is an active
/// member of its team `$3` (membership and user rows locked `FOR SHARE`).
const INSERT: &str = concat!(
    "INSERT INTO templates (",
    template_columns!(),
    ")\nSELECT ",
    template_values!(),
    "\nWHERE ",
    active_member!("$3", "$2"),
    "\nRETURNING *"
);

/// A team's templates: `$1` team, `$2`/`$3` the keyset bound, `$4` rows to fetch.
const LIST: &str = r#"
SELECT * FROM templates
WHERE team_id = $1 AND (created_at, id) < ($2, $3)
ORDER BY created_at DESC, id DESC LIMIT $4"#;

/// As [`LIST`], only category `$5`.
const LIST_BY_CATEGORY: &str = r#"
SELECT * FROM templates
WHERE team_id = $1 AND category = $5 AND (created_at, id) < ($2, $3)
ORDER BY created_at DESC, id DESC LIMIT $4"#;

/// Public templates of every team: `$1`/`$2` the keyset bound, `$3` rows to fetch.
const LIST_PUBLIC: &str = r#"
SELECT * FROM templates
WHERE is_public AND (created_at, id) < ($1, $2)
ORDER BY created_at DESC, id DESC LIMIT $3"#;

/// Template `$1` of team `$2`.
const GET: &str = "SELECT * FROM templates WHERE id = $1 AND team_id = $2";

/// Template `$1` of team `$2`, locked.
const LOCK: &str = "SELECT * FROM templates WHERE id = $1 AND team_id = $2 FOR UPDATE";

/// Store the template core changed: `$1`-`$12` ([`bind_template`]); `$1` is also the row's id.
const SAVE: &str = concat!(
    "UPDATE templates SET (",
    template_columns!(),
    ") = ROW(",
    template_values!(),
    ")\nWHERE id = $1 RETURNING *"
);

impl PgStore {
    /// Apply `change` to a template of the team in one transaction (the row locked), store it
    /// and return what `change` returned with the stored template.
    async fn change_template<T: Send>(
        &self,
        team: TeamId,
        id: TemplateId,
        change: impl FnOnce(&mut Template) -> Result<T> + Send,
    ) -> Result<(T, Template)> {
        let mut tx = self.begin().await?;
        let outcome = async {
            let mut template =
                owned_row::<Db<Template>>(&mut *tx, LOCK, id.0, team.0, Entity::Template, id).await?.into_inner();
            let out = change(&mut template)?;
            let row = bind_template(sqlx::query(SAVE), &template).fetch_one(&mut *tx).await.map_err(map_sqlx)?;
            Ok((out, record(&row)?))
        }
        .await;
        finish(tx, outcome).await
    }
}

#[async_trait]
impl TemplateRepository for PgStore {
    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn create_template(&self, team: TeamId, template: NewTemplate) -> Result<Template> {
        let _write = self.write_mark();
        let built = template.into_record(team, self.now())?;
        let row = bind_template(sqlx::query(INSERT), &built).fetch_optional(self.exec()).await.map_err(map_sqlx)?;
        match row {
            Some(row) => record(&row),
            None => Err(refusal(self.exec(), team, built.user_id, Acting::TEMPLATE).await),
        }
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn get_template(&self, team: TeamId, id: TemplateId) -> Result<Template> {
        owned_row::<Db<Template>>(self.exec(), GET, id.0, team.0, Entity::Template, id).await.map(Db::into_inner)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn list_templates(&self, team: TeamId, filter: TemplateFilter, page: PageRequest) -> Result<Page<Template>> {
        page.check()?;
        match filter.category {
            // No stored category holds a NUL (validation forbids it) and PostgreSQL text cannot.
            Some(category) if category.contains('\0') => Ok(Page { items: Vec::new(), next: None }),
            Some(category) => self.filtered_page(LIST_BY_CATEGORY, team.0, &page, |q| q.bind(category.clone())).await,
            None => self.keyed_page(LIST, team.0, &page).await,
        }
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn list_public_templates(&self, page: PageRequest) -> Result<Page<Template>> {
        let k = Keyset::of(&page)?;
        let sql = limit_written(LIST_PUBLIC, "LIMIT $3", k.fetch);
        let rows = self
            .read(|pool| {
                let sql = sql.clone();
                async move { sqlx::query(sql).bind(k.at).bind(k.id).bind(k.fetch).fetch_all(&pool).await }
            })
            .await?;
        let items = rows.iter().map(record).collect::<Result<Vec<Template>>>()?;
        Ok(Page::from_keyed(items, page.limit))
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn update_template(&self, team: TeamId, id: TemplateId, update: TemplateUpdate) -> Result<Template> {
        let _write = self.write_mark();
        validate::check(&update)?;
        let now = self.now();
        self.change_template(team, id, |t| {
            update.apply(t, now);
            Ok(())
        })
        .await
        .map(|((), t)| t)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn delete_template(&self, team: TeamId, id: TemplateId) -> Result<()> {
        let _write = self.write_mark();
        self.delete_owned("DELETE FROM templates WHERE id = $1 AND team_id = $2", id.0, team.0, Entity::Template, id)
            .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn record_template_use(&self, team: TeamId, id: TemplateId) -> Result<i32> {
        let _write = self.write_mark();
        self.change_template(team, id, Template::record_use).await.map(|(count, _)| count)
    }
}
