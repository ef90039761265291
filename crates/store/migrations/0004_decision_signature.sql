-- The app's signature over the person's approval (`SealKey::sign_decision`), kept with the
-- order so a late send can check that an order the approval policy holds was approved by the
-- person in the app, not written into the journal by another program.
ALTER TABLE orders ADD COLUMN decision_signature TEXT;
