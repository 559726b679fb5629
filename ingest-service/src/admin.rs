//! `IngestAdminService`: operator actions on the store. `CreateBackup` writes
//! an online snapshot through the committer (between two batches, so it holds
//! exactly what was acknowledged before it) into a new directory under the
//! configured backup root; a name that could leave the root is refused.

use std::path::{Path, PathBuf};

use sectorwire_proto::ingest::{
    ingest_admin_service_server::IngestAdminService, CreateBackupRequest, CreateBackupResponse,
};
use tonic::{Request, Response, Status};

use crate::commit::Committer;
use crate::error::IngestError;

/// Longest backup name.
const MAX_NAME: usize = 100;

/// The admin service.
#[derive(Clone)]
pub struct Admin {
    committer: Committer,
    backup_root: Option<PathBuf>,
}

impl Admin {
    /// Backups go under `backup_root`; `None` disables them.
    pub fn new(committer: Committer, backup_root: Option<PathBuf>) -> Self {
        Admin {
            committer,
            backup_root,
        }
    }
}

/// Why a backup name is refused, if it is.
pub fn check_backup_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_NAME {
        return Err(format!("must be 1 to {MAX_NAME} characters long"));
    }
    if name.starts_with('.') {
        return Err("must not start with '.'".into());
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err("may hold only ASCII letters, digits, '-', '_' and '.'".into());
    }
    Ok(())
}

fn target(root: &Path, name: &str) -> PathBuf {
    root.join(name)
}

#[tonic::async_trait]
impl IngestAdminService for Admin {
    async fn create_backup(
        &self,
        request: Request<CreateBackupRequest>,
    ) -> Result<Response<CreateBackupResponse>, Status> {
        let Some(root) = &self.backup_root else {
            return Err(IngestError::BackupsDisabled.into());
        };
        let name = request.into_inner().name;
        if let Err(problem) = check_backup_name(&name) {
            return Err(IngestError::field("name", format!("backup name {problem}")).into());
        }
        std::fs::create_dir_all(root).map_err(IngestError::BackupRoot)?;
        let path = target(root, &name);
        let info = self
            .committer
            .backup(path.clone())
            .await
            .map_err(IngestError::Backup)?;
        Ok(Response::new(CreateBackupResponse {
            path: path.display().to_string(),
            log_id: info.log_id,
            log_head: info.head,
            articles: info.articles,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::check_backup_name;

    #[test]
    fn names_stay_inside_the_root() {
        for good in ["nightly-2026-12-03", "a", "v1.2_b"] {
            assert_eq!(check_backup_name(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            ".",
            "..",
            "../x",
            "a/b",
            "/abs",
            ".hidden",
            "a b",
            "é",
            &"x".repeat(101),
        ] {
            assert!(check_backup_name(bad).is_err(), "{bad:?}");
        }
    }
}
