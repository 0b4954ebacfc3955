import type { TriggerHandler } from './gate-context.js';

export const SIGNATURE_TRIGGERS: Readonly<Record<string, TriggerHandler>> = {
  missing: (context) =>
    context.signature.state === 'absent'
      ? [{ subject: context.subjectDigest, message: `no signature was given (--signature, --key) for ${context.subjectDigest}` }]
      : [],
  invalid: (context) =>
    context.signature.state === 'ok' && !context.signature.value.valid
      ? [
          {
            subject: context.subjectDigest,
            message: `the signature does not verify over "${context.subjectDigest}" with any trusted key (wrong key, a tag or name was signed instead of the digest, or the artifact changed)`,
          },
        ]
      : [],
};
