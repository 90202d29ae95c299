//! LightTS (models.md): not ported yet.

super::unported!(LightTsConfig, "LightTS");
