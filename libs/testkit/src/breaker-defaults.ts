import { DEFAULT_BREAKER_CONFIG, type BreakerConfig } from '@apg/core';

/** The architecture's defaults, as the stacks under test use them. */
export const DEFAULT_BREAKER_CONFIG_VALUES: BreakerConfig = { ...DEFAULT_BREAKER_CONFIG };
