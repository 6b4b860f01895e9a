export { appendHistory, historyPath, maxEntries, operatorName, readHistory, type HistoryAction, type HistoryEntry } from './history.js';
export { formatHistory } from './format.js';
