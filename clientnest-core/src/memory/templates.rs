//! Content templates: team-scoped, public ones listed across teams, uses counted atomically.

use async_trait::async_trait;

use super::store::{MemoryStore, Tables, page_desc};
use crate::constraint::{FK_TEMPLATES_TEAM, FK_TEMPLATES_USER};
use crate::error::{Entity, Error, Result};
use crate::ids::{TeamId, TemplateId};
use crate::model::{NewTemplate, Template, TemplateFilter, TemplateUpdate};
use crate::page::{Keyed, Page, PageRequest};
use crate::ports::TemplateRepository;
use crate::validate;

impl Tables {
    fn team_template(&self, team: TeamId, id: TemplateId) -> Result<&Template> {
        self.templates.get(&id).filter(|t| t.team_id == team).ok_or_else(|| Error::not_found(Entity::Template, id))
    }

    fn team_template_mut(&mut self, team: TeamId, id: TemplateId) -> Result<&mut Template> {
        self.templates.get_mut(&id).filter(|t| t.team_id == team).ok_or_else(|| Error::not_found(Entity::Template, id))
    }
}

#[async_trait]
impl TemplateRepository for MemoryStore {
    async fn create_template(&self, team: TeamId, template: NewTemplate) -> Result<Template> {
        let row = template.into_record(team, self.now())?;
        let mut t = self.tables();
        t.require_acting(team, row.user_id, Entity::Template, (FK_TEMPLATES_TEAM, FK_TEMPLATES_USER))?;
        t.templates.insert(row.id, row.clone());
        Ok(row)
    }

    async fn get_template(&self, team: TeamId, id: TemplateId) -> Result<Template> {
        self.tables().team_template(team, id).cloned()
    }

    async fn list_templates(&self, team: TeamId, filter: TemplateFilter, page: PageRequest) -> Result<Page<Template>> {
        page.check()?;
        let t = self.tables();
        let category = filter.category.as_deref();
        let rows = t.templates.values().filter(|x| x.team_id == team && category.is_none_or(|c| x.category == c));
        Ok(page_desc(rows, &page, Template::cursor))
    }

    async fn list_public_templates(&self, page: PageRequest) -> Result<Page<Template>> {
        page.check()?;
        let t = self.tables();
        Ok(page_desc(t.templates.values().filter(|x| x.is_public), &page, Template::cursor))
    }

    async fn update_template(&self, team: TeamId, id: TemplateId, update: TemplateUpdate) -> Result<Template> {
        validate::check(&update)?;
        let now = self.now();
        let mut t = self.tables();
        let template = t.team_template_mut(team, id)?;
        update.apply(template, now);
        Ok(template.clone())
    }

    async fn delete_template(&self, team: TeamId, id: TemplateId) -> Result<()> {
        let mut t = self.tables();
        t.team_template(team, id)?;
        t.templates.remove(&id);
        Ok(())
    }

    async fn record_template_use(&self, team: TeamId, id: TemplateId) -> Result<i32> {
        let mut t = self.tables();
        t.team_template_mut(team, id)?.record_use()
    }
}
