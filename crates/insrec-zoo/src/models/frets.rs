//! FreTS (models.md): not ported yet.

super::unported!(FreTsConfig, "FreTS");
