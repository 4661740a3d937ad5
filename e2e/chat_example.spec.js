// The chat example in Chromium, driven as a person would (the flow: e2e/flows/chat_example_flow.js).
import { test } from './server.js';
import { playwrightDriver } from './flows/driver.js';
import { chatExampleFlow } from './flows/chat_example_flow.js';

test('two people chat in the example page: group table, presence, group and private messages', async ({ browser, server }) => {
  await chatExampleFlow(playwrightDriver(browser), server);
});
