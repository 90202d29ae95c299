//! Each model trains: forward, masked BCE, backward and Adam steps lower the loss.

mod common;

/// `training!(test_name => ModelKind variant);` — one line per model.
macro_rules! training {
    ($($test:ident => $kind:ident;)*) => {$(
        #[test]
        fn $test() {
            common::check_training(insrec_zoo::ModelKind::$kind);
        }
    )*};
}

training! {
    linear => Linear;
    dlinear => DLinear;
    transformer => Transformer;
    patchtst => PatchTst;
    lightts => LightTs;
    frets => FreTs;
    itransformer => ITransformer;
    gru_d => GruD;
    tide => TiDe;
    autoformer => Autoformer;
    tsmixer => TsMixer;
    nonstationary_transformer => NonstationaryTransformer;
    mambasimple => MambaSimple;
    segrnn => SegRnn;
    fedformer => Fedformer;
    hi_patch => HiPatch;
    informer => Informer;
    timesnet => TimesNet;
    reformer => Reformer;
    mtan => MTan;
    primenet => PrimeNet;
    raindrop => Raindrop;
    pyraformer => Pyraformer;
    crossformer => Crossformer;
    micn => Micn;
    leddam => Leddam;
}

/// FiLM's `fixed` variant (live Legendre-memory branches) on the fixture's config.
#[test]
fn film_fixed() {
    let kind = insrec_zoo::ModelKind::Film;
    let config = kind
        .fixture_config(&common::model_fixture(kind, "config.json"))
        .and_then(|c| c.with_overrides(&["fixed=true"]))
        .expect("fixture config with fixed = true");
    common::check_training_config(kind, &config);
}
