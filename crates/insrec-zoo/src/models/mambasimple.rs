//! MambaSimple (models.md): not ported yet.

super::unported!(MambaSimpleConfig, "MambaSimple");
