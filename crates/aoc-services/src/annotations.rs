//! Analysts' annotations: tags and comments on events. A comment is changed only by its author
//! or an Admin.

use chrono::Utc;

use aoc_model::{CommentBody, CommentId, EventId, Tag};
use aoc_store::{Comment, TagRecord};

use crate::Services;
use crate::caller::{Caller, Role};
use crate::error::{ServiceError, ServiceResult};

/// A tag added to an event.
#[derive(Debug)]
pub struct TagAdded {
    pub tag: Tag,
    /// False when the event already carried it.
    pub added: bool,
    /// The event's tags now.
    pub tags: Vec<TagRecord>,
}

fn tag(value: &str) -> ServiceResult<Tag> {
    Tag::parse(value).map_err(|e| ServiceError::invalid("tag", e.to_string()))
}

fn comment_body(value: &str) -> ServiceResult<CommentBody> {
    CommentBody::parse(value).map_err(|e| ServiceError::invalid("body", e.to_string()))
}

impl Services {
    /// Adds `tag` (trimmed and lowercased) to the event, on the caller's name.
    ///
    /// # Errors
    /// A caller without the Analyst role; a tag that is not one; no such event.
    pub async fn add_tag(
        &self,
        caller: &Caller,
        id: EventId,
        tag_text: &str,
    ) -> ServiceResult<TagAdded> {
        caller.require(Role::Analyst)?;
        let tag = tag(tag_text)?;
        let event = self.stored_event(id).await?;
        let added = self
            .store
            .add_tag((&event).into(), &tag, &caller.author(), Utc::now())
            .await?;
        let tags = self.store.event_tags(id).await?;
        Ok(TagAdded { tag, added, tags })
    }

    /// Removes `tag` from the event, whoever added it.
    ///
    /// # Errors
    /// A caller without the Analyst role; the event does not carry it.
    pub async fn remove_tag(
        &self,
        caller: &Caller,
        id: EventId,
        tag_text: &str,
    ) -> ServiceResult<Tag> {
        caller.require(Role::Analyst)?;
        let tag = tag(tag_text)?;
        if !self.store.remove_tag(id, &tag).await? {
            return Err(ServiceError::NotFound(format!("tag {tag} on event {id}")));
        }
        Ok(tag)
    }

    /// Adds a comment to the event, on the caller's name.
    ///
    /// # Errors
    /// A caller without the Analyst role; an empty or overlong body; no such event.
    pub async fn add_comment(
        &self,
        caller: &Caller,
        id: EventId,
        body: &str,
    ) -> ServiceResult<Comment> {
        caller.require(Role::Analyst)?;
        let text = comment_body(body)?;
        let event = self.stored_event(id).await?;
        Ok(self
            .store
            .add_comment((&event).into(), &caller.author(), &text, Utc::now())
            .await?)
    }

    /// Rewrites a comment: its author's or an Admin's. Returns it before and after.
    ///
    /// # Errors
    /// A caller without the Analyst role; not the author nor an Admin; no such comment.
    pub async fn edit_comment(
        &self,
        caller: &Caller,
        id: CommentId,
        body: &str,
    ) -> ServiceResult<(Comment, Comment)> {
        caller.require(Role::Analyst)?;
        let text = comment_body(body)?;
        let before = self.own_comment(caller, id).await?;
        let after = self
            .store
            .update_comment(id, &text, Utc::now())
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("comment {id}")))?;
        Ok((before, after))
    }

    /// Deletes a comment: its author's or an Admin's. Returns it as it was.
    ///
    /// # Errors
    /// A caller without the Analyst role; not the author nor an Admin; no such comment.
    pub async fn delete_comment(&self, caller: &Caller, id: CommentId) -> ServiceResult<Comment> {
        caller.require(Role::Analyst)?;
        let before = self.own_comment(caller, id).await?;
        if !self.store.delete_comment(id).await? {
            return Err(ServiceError::NotFound(format!("comment {id}")));
        }
        Ok(before)
    }

    /// The comment, when the caller may change it: its author, or an Admin.
    async fn own_comment(&self, caller: &Caller, id: CommentId) -> ServiceResult<Comment> {
        let comment = self
            .store
            .get_comment(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("comment {id}")))?;
        caller.require_owner_or_admin(
            comment.author.id == caller.object_id,
            "only the comment's author or an Admin may change it",
        )?;
        Ok(comment)
    }
}
