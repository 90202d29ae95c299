//! TiDE (models.md): not ported yet.

super::unported!(TiDeConfig, "TiDE");
