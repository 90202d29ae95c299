//! TimesNet (models.md): not ported yet.

super::unported!(TimesNetConfig, "TimesNet");
