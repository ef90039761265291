//! Published releases and their files (installers, update artifacts, the `.mcpb`), kept in the
//! database itself so that every instance serves the same downloads with nothing on its disk.

use sqlx::Row as _;

use super::{Db, DbError};

/// One file of a release, without its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseFile {
    pub name: String,
    /// The updater's platform key (`linux-x86_64`, `linux-x86_64-deb`, …) when the updater
    /// installs this file.
    pub platform: Option<String>,
    pub signature: Option<String>,
    pub size: i64,
    pub sha256: String,
}

/// One release and its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub version: String,
    pub pub_date: String,
    pub notes: String,
    pub files: Vec<ReleaseFile>,
}

/// A file to publish.
#[derive(Debug, Clone)]
pub struct NewFile {
    pub meta: ReleaseFile,
    pub content: Vec<u8>,
}

impl Db {
    /// Publishes a release (replacing an earlier publication of the same version).
    pub async fn publish_release(
        &self,
        release: &Release,
        files: &[NewFile],
        now: i64,
    ) -> Result<(), DbError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM release_files WHERE version = $1")
            .bind(&release.version)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM releases WHERE version = $1")
            .bind(&release.version)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO releases (version, pub_date, notes, published_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&release.version)
        .bind(&release.pub_date)
        .bind(&release.notes)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        for file in files {
            sqlx::query(
                "INSERT INTO release_files (version, name, platform, signature, size, sha256, content)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&release.version)
            .bind(&file.meta.name)
            .bind(file.meta.platform.as_deref())
            .bind(file.meta.signature.as_deref())
            .bind(file.meta.size)
            .bind(&file.meta.sha256)
            .bind(file.content.as_slice())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every published release with its files' metadata (no content).
    pub async fn releases(&self) -> Result<Vec<Release>, DbError> {
        let rows = sqlx::query("SELECT version, pub_date, notes FROM releases")
            .fetch_all(self.pool())
            .await?;
        let mut releases = Vec::with_capacity(rows.len());
        for row in rows {
            let version: String = row.try_get("version")?;
            let files = sqlx::query(
                "SELECT name, platform, signature, size, sha256 FROM release_files
                 WHERE version = $1 ORDER BY name",
            )
            .bind(&version)
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|r| {
                Ok(ReleaseFile {
                    name: r.try_get("name")?,
                    platform: r.try_get("platform")?,
                    signature: r.try_get("signature")?,
                    size: r.try_get("size")?,
                    sha256: r.try_get("sha256")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
            releases.push(Release {
                version,
                pub_date: row.try_get("pub_date")?,
                notes: row.try_get("notes")?,
                files,
            });
        }
        Ok(releases)
    }

    /// A file's content.
    pub async fn release_file(
        &self,
        version: &str,
        name: &str,
    ) -> Result<Option<Vec<u8>>, DbError> {
        let row = sqlx::query("SELECT content FROM release_files WHERE version = $1 AND name = $2")
            .bind(version)
            .bind(name)
            .fetch_optional(self.pool())
            .await?;
        Ok(match row {
            Some(row) => Some(row.try_get("content")?),
            None => None,
        })
    }
}
