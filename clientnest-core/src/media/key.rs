//! Object keys of post media: `teams/{team}/posts/{post}/{media}.{ext}`, built from ids, never
//! from a user's file name.

use std::fmt;

use uuid::Uuid;

use super::format::{MediaFormat, truncate};
use crate::error::Error;
use crate::ids::{PostId, TeamId};

/// The key of one media object: `teams/{team}/posts/{post}/{media}.{ext}`.
///
/// Every part is an id or the extension of a [`MediaFormat`], so no user-supplied text ever
/// becomes part of a key; [`MediaKey::parse`] accepts exactly what [`MediaKey::as_str`] writes
/// (UUIDs as 32 lowercase hex digits, a known lowercase extension) and nothing else, so one
/// object has one key. The media id is a UUIDv7, so a post's objects list in upload order.
///
/// UUIDs are written without hyphens to keep keys at 114 bytes: S3 takes 1,024, but
/// S3-compatible servers on a file system (s3s-fs, for one) put the key, base64-encoded, into
/// a file name of at most 255 bytes.
///
/// ```
/// use clientnest_core::ids::{PostId, TeamId};
/// use clientnest_core::media::{MediaFormat, MediaKey};
///
/// let (team, post) = (TeamId::new(), PostId::new());
/// let key = MediaKey::new(team, post, MediaFormat::Png);
/// let hex = |id: uuid::Uuid| id.simple().to_string();
/// assert!(key.as_str().starts_with(&format!("teams/{}/posts/{}/", hex(team.as_uuid()), hex(post.as_uuid()))));
/// assert!(key.as_str().ends_with(".png"));
/// assert_eq!(MediaKey::parse(key.as_str())?, key);
/// assert!(MediaKey::parse("teams/../../etc/passwd").is_err());
/// # Ok::<(), clientnest_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MediaKey {
    team: TeamId,
    post: PostId,
    media: Uuid,
    format: MediaFormat,
    path: String,
}

impl MediaKey {
    /// A fresh key for a new object of `format` under the team's post.
    pub fn new(team: TeamId, post: PostId, format: MediaFormat) -> MediaKey {
        MediaKey::from_parts(team, post, Uuid::now_v7(), format)
    }

    fn from_parts(team: TeamId, post: PostId, media: Uuid, format: MediaFormat) -> MediaKey {
        let path = format!(
            "teams/{}/posts/{}/{}.{}",
            team.as_uuid().simple(),
            post.as_uuid().simple(),
            media.simple(),
            format.extension()
        );
        MediaKey { team, post, media, format, path }
    }

    /// Parse a key written by [`MediaKey::as_str`]. Anything else (another layout, `..`,
    /// uppercase, an unknown extension, a file name) is a [`Error::Validation`] with rule
    /// `media_key` on `key`.
    pub fn parse(key: &str) -> Result<MediaKey, Error> {
        MediaKey::try_parse(key)
            .ok_or_else(|| Error::invalid("key", "media_key", format!("{:?} is not a media key", truncate(key, 200))))
    }

    fn try_parse(key: &str) -> Option<MediaKey> {
        let mut parts = key.split('/');
        let (teams, team, posts, post, file) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || teams != "teams" || posts != "posts" {
            return None;
        }
        let (media, ext) = file.split_once('.')?;
        let parsed = MediaKey::from_parts(
            TeamId::from(canonical_uuid(team)?),
            PostId::from(canonical_uuid(post)?),
            canonical_uuid(media)?,
            MediaFormat::from_extension(ext)?,
        );
        (parsed.path == key).then_some(parsed)
    }

    /// The team whose prefix holds the object.
    pub fn team(&self) -> TeamId {
        self.team
    }

    /// The post the object was uploaded for.
    pub fn post(&self) -> PostId {
        self.post
    }

    /// The object's own id (the file name without its extension).
    pub fn media_id(&self) -> Uuid {
        self.media
    }

    /// The format the key's extension names; the object's bytes were checked to be this format.
    pub fn format(&self) -> MediaFormat {
        self.format
    }

    /// The key as stored: `teams/{team}/posts/{post}/{media}.{ext}`.
    pub fn as_str(&self) -> &str {
        &self.path
    }

    /// `Ok` when the key lies under `team`'s prefix; else a [`Error::Validation`] with rule
    /// `media_key_outside_team` on `key`. Every [`MediaStore`](super::MediaStore) call checks it.
    pub fn check_team(&self, team: TeamId) -> Result<(), Error> {
        if self.team == team {
            Ok(())
        } else {
            Err(Error::invalid("key", "media_key_outside_team", "the media key is not under the caller's team"))
        }
    }
}

impl fmt::Display for MediaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path)
    }
}

/// A UUID written in its one canonical form in keys (32 lowercase hex digits).
fn canonical_uuid(s: &str) -> Option<Uuid> {
    let id = Uuid::try_parse(s).ok()?;
    (id.simple().to_string() == s).then_some(id)
}

/// A prefix to list objects under: one team, one post of a team, or (for operators' sweeps
/// only) every team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaPrefix {
    /// `teams/{team}/`: every object of the team.
    Team(TeamId),
    /// `teams/{team}/posts/{post}/`: the objects of one post.
    Post(TeamId, PostId),
    /// `teams/`: every team's objects. For maintenance jobs (the orphan sweep), never for a
    /// caller acting for one team.
    AllTeams,
}

impl MediaPrefix {
    /// The prefix as a path ending in `/`.
    pub fn as_path(&self) -> String {
        match self {
            MediaPrefix::Team(team) => format!("teams/{}/", team.as_uuid().simple()),
            MediaPrefix::Post(team, post) => {
                format!("teams/{}/posts/{}/", team.as_uuid().simple(), post.as_uuid().simple())
            }
            MediaPrefix::AllTeams => "teams/".to_owned(),
        }
    }

    /// Whether `key` lies under this prefix.
    pub fn contains(&self, key: &MediaKey) -> bool {
        match *self {
            MediaPrefix::Team(team) => key.team == team,
            MediaPrefix::Post(team, post) => key.team == team && key.post == post,
            MediaPrefix::AllTeams => true,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn only_canonical_keys_parse() {
        let key = MediaKey::new(TeamId::new(), PostId::new(), MediaFormat::Jpeg);
        assert_eq!(MediaKey::parse(key.as_str()).ok(), Some(key.clone()));
        let s = key.as_str();
        for bad in [
            s.to_uppercase(),
            s.replace(".jpg", ".JPG"),
            s.replace(".jpg", ".exe"),
            s.replace(".jpg", ".jpg.html"),
            format!("/{s}"),
            format!("{s}/"),
            format!("x/{s}"),
            s.replace("posts", "post"),
            s.replacen(&key.team().to_string().replace('-', ""), &key.team().to_string(), 1),
            "teams/../posts/x/y.png".to_owned(),
            String::new(),
        ] {
            assert!(MediaKey::parse(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_key_of_another_team_is_refused() {
        let key = MediaKey::new(TeamId::new(), PostId::new(), MediaFormat::Png);
        assert!(key.check_team(key.team()).is_ok());
        assert_eq!(key.check_team(TeamId::new()).unwrap_err().rule(), Some("media_key_outside_team"));
        assert!(MediaPrefix::Team(key.team()).contains(&key));
        assert!(!MediaPrefix::Post(key.team(), PostId::new()).contains(&key));
        assert!(key.as_str().starts_with(&MediaPrefix::Post(key.team(), key.post()).as_path()));
    }
}
