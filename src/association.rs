//! The association-model predictor: which pairing method two IO capabilities lead to.
