// Names of the shared resources of a namespace: worker, channel and locks all carry it.
export const workerName = (namespace: string) => `syncline:${namespace}`;
export const channelName = (namespace: string) => `syncline:${namespace}`;
export const leaderLockName = (namespace: string) => `syncline:${namespace}:leader`;
export const tabLockName = (namespace: string, client: string) => `syncline:${namespace}:tab:${client}`;
