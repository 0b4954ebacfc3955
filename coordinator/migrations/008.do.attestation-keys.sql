-- The attestation public key each site registers when its agent starts (distinct from its identity key).
ALTER TABLE sites ADD COLUMN attestation_jwk jsonb;
