//! PatchTST (models.md): not ported yet.

super::unported!(PatchTstConfig, "PatchTST");
