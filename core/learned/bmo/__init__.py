"""BMO (ICML 2022): bilevel meta-optimisation, a learned step that keeps converging past the trained layers."""
