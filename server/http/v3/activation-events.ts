import type { Activation } from '../../domain/activations.js';
import type { Logger } from '../../logger.js';
import type { Services } from '../../services.js';
import { toV3Activation } from './presenters.js';

export type ActivationEventType = 'activation.created' | 'activation.updated' | 'activation.deleted';

/**
 * Records an activation event with the full v3 activation object as its data. The state change has
 * already happened, so a failure to record is logged rather than turned into an error answer (a
 * client retrying a meter increment would count it twice).
 */
export async function recordActivationEvent(services: Services, logger: Logger, type: ActivationEventType, activation: Activation): Promise<void> {
  try {
    await services.events.record({
      accountId: activation.license.accountId,
      type,
      subject: activation.device.activationId,
      data: toV3Activation(activation, services.clock.now()),
    });
  } catch (err) {
    logger.error({ err: { message: (err as Error).message }, type, activationId: activation.device.activationId }, 'recording an activation event failed');
  }
}
