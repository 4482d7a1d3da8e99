//! Where no backend can be applied yet: every plan can still be previewed (`--dry-run`).

use std::path::Path;

use crate::{Backend, ManagerError, NativeStatus, Plan, ServiceSpec};

pub(crate) fn install(plan: &Plan, _spec: &ServiceSpec, _force: bool) -> Result<(), ManagerError> {
    Err(ManagerError::NotHere(plan.backend.as_str()))
}

pub(crate) fn uninstall(
    _name: &str,
    backend: Backend,
    _home: &Path,
    _purge: bool,
) -> Result<(), ManagerError> {
    Err(ManagerError::NotHere(backend.as_str()))
}

pub(crate) fn status(_name: &str, backend: Backend) -> Result<NativeStatus, ManagerError> {
    Err(ManagerError::NotHere(backend.as_str()))
}

pub(crate) fn control(
    _name: &str,
    backend: Backend,
    _verb: crate::Control,
) -> Result<(), ManagerError> {
    Err(ManagerError::NotHere(backend.as_str()))
}
