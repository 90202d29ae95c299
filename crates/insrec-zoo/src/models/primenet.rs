//! PrimeNet (models.md): not ported yet.

super::unported!(PrimeNetConfig, "PrimeNet");
