//! mTAN (models.md): not ported yet.

super::unported!(MTanConfig, "mTAN");
