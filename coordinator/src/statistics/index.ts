export { StatisticsRounds, type StatisticsHooks, type StatsResultRow } from './rounds.js';
export { isStatisticsSpec, statsVectorLength, statisticsJobSpec, publishingSite } from './spec.js';
export { describeStatsQuery } from './view.js';
export { registerStatisticsRoutes } from './routes.js';
