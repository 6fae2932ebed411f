/** The current time, injected everywhere so expiry logic is tested without sleeping. */
export type Clock = () => Date;

export const systemClock: Clock = () => new Date();
