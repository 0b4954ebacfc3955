import { MedfedError, GrpcStatus, type ErrorTable } from '@medfed/proto';

/** Refusals of local training. A site that raises one of these sends no update for the round. */
export const TRAINING_ERRORS = {
  TRAINING_SETTINGS_INVALID: {
    http: 400,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    summary: 'Training settings (epochs, batch size, learning rate, seed, FedProx or DP-SGD parameters) are out of range.',
  },
  TRAINING_WEIGHTS_SHAPE: {
    http: 422,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'The weight vector does not have the length the model architecture requires.',
  },
  TRAINING_DATA_SHAPE: {
    http: 422,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'The training data does not match the model architecture (feature count, labels, array lengths).',
  },
  TRAINING_DATA_EMPTY: {
    http: 422,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    summary: 'There are no rows to train or evaluate on.',
  },
  TRAINING_NOISE_INVALID: {
    http: 500,
    grpc: GrpcStatus.INTERNAL,
    summary: 'The injected Gaussian or sampling source returned the wrong count or non-finite values.',
  },
  TRAINING_DIVERGED: {
    http: 422,
    grpc: GrpcStatus.ABORTED,
    summary: 'Training produced non-finite weights; the update is withheld so it cannot poison the aggregate.',
  },
  TRAINING_BACKEND_UNAVAILABLE: {
    http: 500,
    grpc: GrpcStatus.UNAVAILABLE,
    summary: 'No TensorFlow.js backend could be initialised.',
  },
} as const satisfies ErrorTable;

export type TrainingErrorCode = keyof typeof TRAINING_ERRORS;

export class TrainingError extends MedfedError<TrainingErrorCode> {}
