//! Posts and media: creation in one step, per-platform limits, field rules, references, updates
//! that re-check the platform fit, the feed, the bulk import, and media attached to and detached
//! from a stored post (content hashes, order, concurrency).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Duration;

use super::fixtures::*;
use crate::conformance::Harness;
use crate::constraint;
use crate::error::Entity;
use crate::ids::{PostId, PostMediaId, TeamId, UserId};
use crate::model::*;
use crate::page::Page;
use crate::ports::*;
use crate::validate::rule;

/// A post is created with its media: `order_index` is the position, media share the post's
/// `created_at`; a draft has no `published_at`.
pub async fn posts_create_with_media_in_order<
    S: UserRepository + TeamRepository + PostRepository + ?Sized + 'static,
>(
    h: &Harness<S>,
) {
    let (owner, team) = owned_team(h).await;
    let mut input = NewPost::draft(owner.id, "Three media items");
    input.title = "Launch".to_owned();
    input.hashtags = vec!["launch".to_owned(), "rust".to_owned()];
    input.platforms = vec![Platform::Instagram, Platform::Facebook];
    let mut first = media(MediaType::Image);
    first.dimensions = Some(Dimensions { width: 1080, height: 1350 });
    first.alt_text = "A cat".to_owned();
    input.media = vec![first.clone(), media(MediaType::Video), media(MediaType::Gif)];
    let urls: Vec<String> = input.media.iter().map(|m| m.file_url.clone()).collect();
    let created = h.store.create_post(team.id, input).await.expect("create post");
    let p = &created.post;
    assert_eq!((p.team_id, p.user_id, p.status), (team.id, owner.id, PostStatus::Draft));
    assert_eq!((p.title.as_str(), p.content.as_str()), ("Launch", "Three media items"));
    assert_eq!(p.hashtags, vec!["launch".to_owned(), "rust".to_owned()]);
    assert_eq!(p.platforms, vec![Platform::Instagram, Platform::Facebook]);
    assert_eq!((p.published_at, p.scheduled_at), (None, None));
    assert_eq!(p.created_at, now(h));
    assert_eq!(p.updated_at, p.created_at);

    let kinds: Vec<MediaType> = created.media.iter().map(|m| m.media_type).collect();
    assert_eq!(kinds, vec![MediaType::Image, MediaType::Video, MediaType::Gif]);
    let order: Vec<i32> = created.media.iter().map(|m| m.order_index).collect();
    assert_eq!(order, vec![0, 1, 2]);
    let got_urls: Vec<String> = created.media.iter().map(|m| m.file_url.clone()).collect();
    assert_eq!(got_urls, urls);
    assert!(created.media.iter().all(|m| m.post_id == p.id && m.created_at == p.created_at));
    assert_eq!(created.media[0].dimensions, first.dimensions);
    assert_eq!(created.media[0].alt_text, "A cat");
    assert_eq!(created.media[0].file_size, 2048);

    assert_eq!(h.store.get_post(team.id, p.id).await.expect("get post"), created);
}

/// A post created `published` is published now.
pub async fn posts_create_published_sets_published_at<
    S: UserRepository + TeamRepository + PostRepository + ?Sized + 'static,
>(
    h: &Harness<S>,
) {
    let (owner, team) = owned_team(h).await;
    let mut input = new_post_for(owner.id, Platform::Twitter);
    input.status = PostStatus::Published;
    let p = h.store.create_post(team.id, input).await.expect("create").post;
    assert_eq!(p.status, PostStatus::Published);
    assert_eq!(p.published_at, Some(now(h)));
}

/// Text limits per platform count characters: X takes 280, not 281; Pinterest 500, not 501.
pub async fn posts_platform_text_limits<S: UserRepository + TeamRepository + PostRepository + ?Sized + 'static>(
    h: &Harness<S>,
) {
    let (owner, team) = owned_team(h).await;
    let cases = [(Platform::Twitter, 280), (Platform::Pinterest, 500), (Platform::LinkedIn, 3000)];
    for (platform, limit) in cases {
        let mut over = new_post_for(owner.id, platform);
        over.content = repeat('a', limit + 1);
        invalid(h.store.create_post(team.id, over).await, "content", rule::PLATFORM_TEXT);
    }
    assert!(list(h, team.id).await.is_empty(), "refused posts are not stored");
    for (platform, limit) in cases {
        let mut fits = new_post_for(owner.id, platform);
        fits.content = repeat('😀', limit);
        h.store.create_post(team.id, fits).await.expect("exactly the limit, in characters");
    }
    assert_eq!(list(h, team.id).await.len(), 3);
}

/// Media counts and kinds per platform: X up to 4, Instagram at least 1, YouTube one video,
/// Pinterest up to 5.
pub async fn posts_platform_media_rules<S: UserRepository + TeamRepository + PostRepository + ?Sized + 'static>(
    h: &Harness<S>,
) {
    let (owner, team) = owned_team(h).await;
    let images = |n: usize| (0..n).map(|_| media(MediaType::Image)).collect::<Vec<_>>();
    let cases = [
        (Platform::Twitter, images(5), rule::PLATFORM_MEDIA),
        (Platform::Instagram, Vec::new(), rule::PLATFORM_MEDIA),
        (Platform::YouTube, images(1), rule::PLATFORM_MEDIA_KIND),
        (Platform::YouTube, vec![media(MediaType::Video), media(MediaType::Video)], rule::PLATFORM_MEDIA),
        (Platform::Pinterest, images(6), rule::PLATFORM_MEDIA),
        (Platform::TikTok, Vec::new(), rule::PLATFORM_MEDIA),
    ];
    for (platform, items, broken) in cases {
        let mut input = new_post_for(owner.id, platform);
        input.media = items;
        invalid(h.store.create_post(team.id, input).await, "media", broken);
    }
    assert!(list(h, team.id).await.is_empty(), "refused posts are not stored");
    let ok = [(Platform::Twitter, images(4)), (Platform::Pinterest, images(5)), (Platform::Facebook, Vec::new())];
    for (platform, items) in ok {
        let mut input = new_post_for(owner.id, platform);
        input.media = items;
        h.store.create_post(team.id, input).await.expect("within the platform's media rules");
    }
}

/// Field rules of a post and its media, named by path; nothing stored, not even media.
pub async fn posts_field_rules<S: UserRepository + TeamRepository + PostRepository + ?Sized + 'static>(h: &Harness<S>) {
    let (owner, team) = owned_team(h).await;
    let cases: Vec<Case<NewPost>> = vec![
        (|p| p.title = repeat('t', 201), "title", rule::MAX_LENGTH),
        (|p| p.content = " \n".to_owned(), "content", rule::REQUIRED),
        (|p| p.content = "a\0b".to_owned(), "content", rule::NUL_BYTE),
        (|p| p.scheduled_at = Some(year(10_000)), "scheduled_at", rule::TIME_RANGE),
        (|p| p.scheduled_at = Some(year(1800)), "scheduled_at", rule::TIME_RANGE),
        (|p| p.hashtags = vec![repeat('h', 101)], "hashtags", rule::MAX_LENGTH),
        (|p| p.metadata = serde_json::json!(["\0"]), "metadata", rule::NUL_BYTE),
        (|p| p.media = vec![NewPostMedia::new(MediaType::Image, "not a url", 1)], "media[0].file_url", rule::URL),
        (
            |p| {
                p.media =
                    vec![media(MediaType::Image), NewPostMedia::new(MediaType::Image, "https://x.example.com/a", -1)]
            },
            "media[1].file_size",
            rule::RANGE,
        ),
        (
            |p| {
                let mut m = media(MediaType::Image);
                m.alt_text = repeat('a', 1001);
                p.media = vec![m];
            },
            "media[0].alt_text",
            rule::MAX_LENGTH,
        ),
    ];
    for (break_it, field, broken) in cases {
        let mut input = NewPost::draft(owner.id, "Valid text");
        break_it(&mut input);
        invalid(h.store.create_post(team.id, input).await, field, broken);
    }
    assert!(list(h, team.id).await.is_empty(), "nothing stored");
}

/// `fk_posts_user`, `fk_posts_team`; validation comes before references.
pub async fn posts_references<S: UserRepository + TeamRepository + PostRepository + ?Sized + 'static>(h: &Harness<S>) {
    let (owner, team) = owned_team(h).await;
    missing(
        h.store.create_post(team.id, NewPost::draft(UserId::new(), "text")).await,
        Entity::Post,
        Entity::User,
        constraint::FK_POSTS_USER,
    );
    missing(
        h.store.create_post(TeamId::new(), NewPost::draft(owner.id, "text")).await,
        Entity::Post,
        Entity::Team,
        constraint::FK_POSTS_TEAM,
    );
    invalid(h.store.create_post(TeamId::new(), NewPost::draft(UserId::new(), "")).await, "content", rule::REQUIRED);
    assert!(list(h, team.id).await.is_empty());
}

/// `update_post` applies the patch, then the text must still fit the platforms with the stored
/// media; a refused update changes nothing. Publishing sets `published_at` once.
pub async fn posts_update_rechecks_platform_fit<
    S: UserRepository + TeamRepository + PostRepository + ?Sized + 'static,
>(
    h: &Harness<S>,
) {
    let (owner, team) = owned_team(h).await;
    let mut input = NewPost::draft(owner.id, repeat('a', 200));
    input.media = vec![media(MediaType::Image)];
    let created = h.store.create_post(team.id, input).await.expect("create").post;

    let to_x = PostUpdate { platforms: Some(vec![Platform::Twitter]), ..PostUpdate::default() };
    let on_x = h.store.update_post(team.id, created.id, to_x).await.expect("fits X");
    let longer = PostUpdate { content: Some(repeat('a', 281)), ..PostUpdate::default() };
    invalid(h.store.update_post(team.id, created.id, longer).await, "content", rule::PLATFORM_TEXT);
    let to_youtube = PostUpdate { platforms: Some(vec![Platform::YouTube]), ..PostUpdate::default() };
    invalid(h.store.update_post(team.id, created.id, to_youtube).await, "media", rule::PLATFORM_MEDIA_KIND);
    let bad_title = PostUpdate { title: Some(repeat('t', 201)), ..PostUpdate::default() };
    invalid(h.store.update_post(team.id, created.id, bad_title).await, "title", rule::MAX_LENGTH);
    let stored = h.store.get_post(team.id, created.id).await.expect("get");
    assert_eq!(stored.post, on_x, "refused updates change nothing");

    h.time.advance(Duration::minutes(10)).await;
    let publish = PostUpdate {
        status: Some(PostStatus::Published),
        content: Some(repeat('b', 280)),
        engagement: Some(serde_json::json!({ "likes": 3 })),
        ..PostUpdate::default()
    };
    let published = h.store.update_post(team.id, created.id, publish).await.expect("publish");
    assert_eq!(published.status, PostStatus::Published);
    assert_eq!(published.published_at, Some(now(h)));
    assert_eq!(published.updated_at, now(h));
    assert_eq!(published.created_at, created.created_at);
    assert_eq!(published.engagement, serde_json::json!({ "likes": 3 }));
    let first_published = published.published_at;
    h.time.advance(Duration::minutes(10)).await;
    let again = PostUpdate { status: Some(PostStatus::Published), ..PostUpdate::default() };
    let again = h.store.update_post(team.id, created.id, again).await.expect("publish again");
    assert_eq!(again.published_at, first_published, "published_at is set once");

    let unknown = PostId::new();
    not_found(h.store.get_post(team.id, unknown).await, Entity::Post);
    not_found(h.store.update_post(team.id, unknown, PostUpdate::default()).await, Entity::Post);
    not_found(h.store.delete_post(team.id, unknown).await, Entity::Post);
}

/// `list_posts` filters by status, newest first.
pub async fn posts_list_filters_by_status<S: UserRepository + TeamRepository + PostRepository + ?Sized + 'static>(
    h: &Harness<S>,
) {
    let (owner, team) = owned_team(h).await;
    let mut drafts = Vec::new();
    let mut published = Vec::new();
    for i in 0..6 {
        tick(h).await;
        let mut input = new_post_for(owner.id, Platform::Twitter);
        if i % 3 == 0 {
            input.status = PostStatus::Published;
        }
        let p = h.store.create_post(team.id, input).await.expect("create").post;
        if i % 3 == 0 { published.push(p.id) } else { drafts.push(p.id) }
    }
    drafts.reverse();
    published.reverse();
    let by = |status| PostFilter { status: Some(status) };
    let ids = |v: Page<Post>| v.items.into_iter().map(|p| p.id).collect::<Vec<_>>();
    let got = h.store.list_posts(team.id, by(PostStatus::Draft), all()).await.expect("drafts");
    assert_eq!(ids(got), drafts);
    let got = h.store.list_posts(team.id, by(PostStatus::Published), all()).await.expect("published");
    assert_eq!(ids(got), published);
    let got = h.store.list_posts(team.id, by(PostStatus::Failed), all()).await.expect("failed");
    assert!(got.items.is_empty());
    assert_eq!(list(h, team.id).await.len(), 6);
}

/// The feed: published posts only, newest first, with media in order, paged.
pub async fn posts_feed_published_newest_first<
    S: UserRepository + TeamRepository + PostRepository + ?Sized + 'static,
>(
    h: &Harness<S>,
) {
    let (owner, team) = owned_team(h).await;
    let mut expected = Vec::new();
    for i in 0..7 {
        tick(h).await;
        let mut input = NewPost::draft(owner.id, format!("post {i}"));
        input.platforms = vec![Platform::Instagram];
        input.media = vec![media(MediaType::Image), media(MediaType::Video)];
        if i != 3 {
            input.status = PostStatus::Published;
        }
        let p = h.store.create_post(team.id, input).await.expect("create");
        if i != 3 {
            expected.push(p);
        }
    }
    // Published by update, later: still ordered by creation.
    tick(h).await;
    let draft = h.store.create_post(team.id, NewPost::draft(owner.id, "late")).await.expect("create");
    let publish = PostUpdate { status: Some(PostStatus::Published), ..PostUpdate::default() };
    let late = h.store.update_post(team.id, draft.post.id, publish).await.expect("publish");
    expected.push(PostWithMedia { post: late, media: Vec::new() });
    expected.reverse();

    let store = &*h.store;
    let feed = all_pages(2, move |p| store.feed(team.id, p)).await;
    assert_eq!(feed, expected, "published posts, newest first, with their media");
    for item in &feed {
        let order: Vec<i32> = item.media.iter().map(|m| m.order_index).collect();
        assert_eq!(order, (0..item.media.len() as i32).collect::<Vec<_>>());
    }
}

/// `import_posts`: the given creation time for post and media, `published_at = created_at` for
/// published ones; all or nothing.
pub async fn posts_import_all_or_nothing<S: UserRepository + TeamRepository + PostRepository + ?Sized + 'static>(
    h: &Harness<S>,
) {
    let (owner, team) = owned_team(h).await;
    let base = now(h) - Duration::days(30);
    let imported = |i: i64, status: PostStatus| {
        let mut post = new_post_for(owner.id, Platform::Pinterest);
        post.status = status;
        post.content = format!("imported {i}");
        ImportedPost { post, created_at: base + Duration::days(i) }
    };
    let batch =
        vec![imported(0, PostStatus::Published), imported(1, PostStatus::Draft), imported(2, PostStatus::Published)];
    assert_eq!(h.store.import_posts(team.id, batch).await.expect("import"), 3);
    let posts = list(h, team.id).await;
    assert_eq!(posts.len(), 3);
    let contents: Vec<&str> = posts.iter().map(|p| p.content.as_str()).collect();
    assert_eq!(contents, vec!["imported 2", "imported 1", "imported 0"], "newest first by the given time");
    for (p, i) in posts.iter().zip([2, 1, 0]) {
        let at = base + Duration::days(i);
        assert_eq!((p.created_at, p.updated_at), (at, at));
        let expected = if p.status == PostStatus::Published { Some(at) } else { None };
        assert_eq!(p.published_at, expected);
        let full = h.store.get_post(team.id, p.id).await.expect("get");
        assert_eq!(full.media.len(), 1);
        assert_eq!((full.media[0].created_at, full.media[0].order_index), (at, 0));
    }

    let mut broken = vec![imported(3, PostStatus::Draft), imported(4, PostStatus::Draft)];
    broken[1].post.content = String::new();
    invalid(h.store.import_posts(team.id, broken).await, "posts[1].content", rule::REQUIRED);
    let mut too_old = vec![imported(5, PostStatus::Draft)];
    too_old[0].created_at = year(1800);
    invalid(h.store.import_posts(team.id, too_old).await, "posts[0].created_at", rule::TIME_RANGE);
    let mut stranger = vec![imported(6, PostStatus::Draft), imported(7, PostStatus::Draft)];
    stranger[1].post.user_id = UserId::new();
    missing(h.store.import_posts(team.id, stranger).await, Entity::Post, Entity::User, constraint::FK_POSTS_USER);
    missing(
        h.store.import_posts(TeamId::new(), vec![imported(8, PostStatus::Draft)]).await,
        Entity::Post,
        Entity::Team,
        constraint::FK_POSTS_TEAM,
    );
    assert_eq!(list(h, team.id).await.len(), 3, "refused imports store nothing");
}

/// Every post of a team (at most 500).
async fn list<S: PostRepository + ?Sized>(h: &Harness<S>, team: TeamId) -> Vec<Post> {
    h.store.list_posts(team, PostFilter::default(), all()).await.expect("list posts").items
}

/// A content hash of 64 lowercase hex characters, distinct per `n`.
fn hash(n: u64) -> String {
    format!("{n:064x}")
}

/// `attach_media` appends one item at the next `order_index`, created now, and bumps the post's
/// `updated_at`; `content_hash` round-trips through `get_post`, the feed and `create_post`.
pub async fn posts_attach_media_appends_with_content_hash<
    S: UserRepository + TeamRepository + PostRepository + ?Sized + 'static,
>(
    h: &Harness<S>,
) {
    let (owner, team) = owned_team(h).await;
    let mut input = new_post_for(owner.id, Platform::Instagram);
    input.status = PostStatus::Published;
    input.media = vec![media(MediaType::Image).with_content_hash(hash(1))];
    let created = h.store.create_post(team.id, input).await.expect("create");
    assert_eq!(created.media[0].content_hash, Some(hash(1)));

    h.time.advance(Duration::minutes(5)).await;
    let mut second = media(MediaType::Video).with_content_hash(hash(2));
    second.alt_text = "A clip".to_owned();
    second.dimensions = Some(Dimensions { width: 1920, height: 1080 });
    let attached = h.store.attach_media(team.id, created.post.id, second.clone()).await.expect("attach");
    assert_eq!((attached.post_id, attached.order_index), (created.post.id, 1));
    assert_eq!((attached.media_type, attached.file_url.as_str()), (MediaType::Video, second.file_url.as_str()));
    assert_eq!(
        (attached.file_size, attached.dimensions, attached.alt_text.as_str()),
        (2048, second.dimensions, "A clip")
    );
    assert_eq!(attached.content_hash, Some(hash(2)));
    assert_eq!(attached.created_at, now(h));
    let third = h.store.attach_media(team.id, created.post.id, media(MediaType::Gif)).await.expect("attach");
    assert_eq!((third.order_index, third.content_hash.as_deref()), (2, None));

    let stored = h.store.get_post(team.id, created.post.id).await.expect("get");
    assert_eq!(stored.media, vec![created.media[0].clone(), attached, third]);
    assert_eq!(stored.post.updated_at, now(h), "attaching changes the post");
    assert_eq!(stored.post.created_at, created.post.created_at);
    let feed = h.store.feed(team.id, all()).await.expect("feed");
    assert_eq!(feed.items, vec![stored]);
}

/// `attach_media` refusals, with nothing stored: a malformed content hash (also inside
/// `create_post`), another team's or an unknown post (`NotFound` post), the platform fit
/// (X up to 4, YouTube one video) and the cap of 35 items.
pub async fn posts_attach_media_refusals<S: UserRepository + TeamRepository + PostRepository + ?Sized + 'static>(
    h: &Harness<S>,
) {
    let (owner, team) = owned_team(h).await;
    let (_, other_team) = owned_team(h).await;
    let mut bad_input = NewPost::draft(owner.id, "Hashed");
    bad_input.media = vec![media(MediaType::Image), media(MediaType::Image).with_content_hash("abc")];
    invalid(h.store.create_post(team.id, bad_input).await, "media[1].content_hash", rule::CONTENT_HASH);
    assert!(list(h, team.id).await.is_empty(), "refused posts are not stored");

    let created = post(h, team.id, owner.id, Platform::Twitter).await;
    let upper = hash(0xabc).to_uppercase();
    let short = hash(7)[1..].to_owned();
    let long = format!("{}0", hash(7));
    let not_hex = format!("{}g", &hash(7)[1..]);
    for bad in [upper, short, long, not_hex, String::new()] {
        let input = media(MediaType::Image).with_content_hash(bad);
        invalid(h.store.attach_media(team.id, created.post.id, input).await, "content_hash", rule::CONTENT_HASH);
    }
    let bad_url = NewPostMedia::new(MediaType::Image, "not a url", 1);
    invalid(h.store.attach_media(team.id, created.post.id, bad_url).await, "file_url", rule::URL);
    not_found(h.store.attach_media(other_team.id, created.post.id, media(MediaType::Image)).await, Entity::Post);
    not_found(h.store.attach_media(team.id, PostId::new(), media(MediaType::Image)).await, Entity::Post);
    assert_eq!(h.store.get_post(team.id, created.post.id).await.expect("get"), created, "nothing stored");

    for _ in 0..4 {
        h.store.attach_media(team.id, created.post.id, media(MediaType::Image)).await.expect("X takes 4");
    }
    let fifth = h.store.attach_media(team.id, created.post.id, media(MediaType::Image)).await;
    invalid(fifth, "media", rule::PLATFORM_MEDIA);

    let video = post(h, team.id, owner.id, Platform::YouTube).await;
    let second = h.store.attach_media(team.id, video.post.id, media(MediaType::Video)).await;
    invalid(second, "media", rule::PLATFORM_MEDIA);
    assert_eq!(h.store.get_post(team.id, video.post.id).await.expect("get"), video, "nothing stored");

    let mut full = NewPost::draft(owner.id, "No platform, many media");
    full.media = (0..MAX_MEDIA).map(|_| media(MediaType::Image)).collect();
    let full = h.store.create_post(team.id, full).await.expect("35 media");
    invalid(h.store.attach_media(team.id, full.post.id, media(MediaType::Image)).await, "media", rule::MAX_LENGTH);
    assert_eq!(h.store.get_post(team.id, full.post.id).await.expect("get").media.len(), MAX_MEDIA);
}

/// Concurrent attaches to one post are serialised: 8 tasks get the indexes 0..7, once each.
pub async fn posts_attach_media_concurrently<S: UserRepository + TeamRepository + PostRepository + ?Sized + 'static>(
    h: &Harness<S>,
) {
    let (owner, team) = owned_team(h).await;
    let created = h.store.create_post(team.id, NewPost::draft(owner.id, "Gallery")).await.expect("create");
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = std::sync::Arc::clone(&h.store);
        let (team_id, post_id) = (team.id, created.post.id);
        let input = media(MediaType::Image).with_content_hash(hash(i));
        tasks.push(tokio::spawn(async move { store.attach_media(team_id, post_id, input).await }));
    }
    let mut attached = Vec::new();
    for task in tasks {
        attached.push(task.await.expect("task").expect("attach"));
    }
    let mut indexes: Vec<i32> = attached.iter().map(|m| m.order_index).collect();
    indexes.sort_unstable();
    assert_eq!(indexes, (0..8).collect::<Vec<i32>>(), "every attach gets its own index");
    attached.sort_by_key(|m| m.order_index);
    assert_eq!(h.store.get_post(team.id, created.post.id).await.expect("get").media, attached);
}

/// `detach_media` returns the item as stored and renumbers the rest 0..n-1 in their order,
/// bumping the post's `updated_at`; an item of another post, another team's post, an unknown
/// post or an item already gone is `NotFound` (`post_media`); the last video of a YouTube post
/// stays (platform fit).
pub async fn posts_detach_media_renumbers<S: UserRepository + TeamRepository + PostRepository + ?Sized + 'static>(
    h: &Harness<S>,
) {
    let (owner, team) = owned_team(h).await;
    let (_, other_team) = owned_team(h).await;
    let mut input = NewPost::draft(owner.id, "Four media");
    input.media = (0..4).map(|i| media(MediaType::Image).with_content_hash(hash(i))).collect();
    let created = h.store.create_post(team.id, input).await.expect("create");
    let other = h.store.create_post(team.id, NewPost::draft(owner.id, "Another")).await.expect("create");
    let before = created.media.clone();

    let second = before[1].id;
    not_found(h.store.detach_media(team.id, other.post.id, second).await, Entity::PostMedia);
    not_found(h.store.detach_media(other_team.id, created.post.id, second).await, Entity::PostMedia);
    not_found(h.store.detach_media(team.id, PostId::new(), second).await, Entity::PostMedia);
    not_found(h.store.detach_media(team.id, created.post.id, PostMediaId::new()).await, Entity::PostMedia);
    assert_eq!(h.store.get_post(team.id, created.post.id).await.expect("get"), created, "nothing changed");

    h.time.advance(Duration::minutes(5)).await;
    let removed = h.store.detach_media(team.id, created.post.id, second).await.expect("detach");
    assert_eq!(removed, before[1], "returned as it was stored");
    not_found(h.store.detach_media(team.id, created.post.id, second).await, Entity::PostMedia);
    let stored = h.store.get_post(team.id, created.post.id).await.expect("get");
    let ids: Vec<PostMediaId> = stored.media.iter().map(|m| m.id).collect();
    assert_eq!(ids, vec![before[0].id, before[2].id, before[3].id], "the rest keep their order");
    let order: Vec<i32> = stored.media.iter().map(|m| m.order_index).collect();
    assert_eq!(order, vec![0, 1, 2]);
    let hashes: Vec<Option<String>> = stored.media.iter().map(|m| m.content_hash.clone()).collect();
    assert_eq!(hashes, vec![Some(hash(0)), Some(hash(2)), Some(hash(3))]);
    assert_eq!(stored.post.updated_at, now(h), "detaching changes the post");

    let appended = h.store.attach_media(team.id, created.post.id, media(MediaType::Gif)).await.expect("attach");
    assert_eq!(appended.order_index, 3, "appends after the renumbered items");
    let first = h.store.detach_media(team.id, created.post.id, before[0].id).await.expect("detach first");
    assert_eq!(first.order_index, 0);
    let order: Vec<(PostMediaId, i32)> = h
        .store
        .get_post(team.id, created.post.id)
        .await
        .expect("get")
        .media
        .iter()
        .map(|m| (m.id, m.order_index))
        .collect();
    assert_eq!(order, vec![(before[2].id, 0), (before[3].id, 1), (appended.id, 2)]);

    let video = post(h, team.id, owner.id, Platform::YouTube).await;
    let only = video.media[0].id;
    invalid(h.store.detach_media(team.id, video.post.id, only).await, "media", rule::PLATFORM_MEDIA);
    assert_eq!(h.store.get_post(team.id, video.post.id).await.expect("get"), video, "nothing changed");
}
