//! Each model reproduces its PyOmniTS parity fixture (`shared/fixtures/pyomnits/<Name>/`):
//! fixture config, weights loaded strictly by PyTorch name, logits within 1e-4.

mod common;

/// `parity!(test_name => ModelKind variant);` — one line per model.
macro_rules! parity {
    ($($test:ident => $kind:ident;)*) => {$(
        #[test]
        fn $test() {
            common::check_parity(insrec_zoo::ModelKind::$kind);
        }
    )*};
}

parity! {
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
    film => Film;
    leddam => Leddam;
}
