// The `/flow` slash command. Slack wants an acknowledgement within 3 seconds, so we ack at once
// and post the answer through the command's response_url when the figures are ready.
import type { App, RespondFn, SlashCommand } from "@slack/bolt";
import type { MetricFilters } from "../../../metrics/api.ts";
import { computeAnswer } from "../../answer.ts";
import { answerBlocks, answerFallback, errorBlocks, helpBlocks } from "../../blocks/answer.ts";
import type { SlackConfig } from "../../config.ts";
import type { BotMetrics } from "../../metrics.ts";
import { parseCommand } from "../../parse.ts";

export interface FlowCommandDeps {
  config: SlackConfig;
  metrics: BotMetrics;
  /** Zone for "this month", "since 2026-01-01" (config metrics.timezone). */
  timezone: string;
  now?: () => number;
  log: { warn(message: string): void; error(message: string): void };
}

/** Why a workspace or channel may not use the bot, or undefined when it may. */
export function accessProblem(config: SlackConfig, teamId: string, channelId: string): string | undefined {
  if (config.allowed_teams.length && !config.allowed_teams.includes(teamId)) return "This workspace is not allowed to use Flowpulse.";
  if (config.allowed_channels.length && !config.allowed_channels.includes(channelId)) {
    return "Flowpulse is not enabled in this channel; ask in one of the channels it serves.";
  }
  return undefined;
}

/** The team a channel is limited to overrides whatever team the text asked for. */
export function applyChannelTeam<F extends MetricFilters>(config: SlackConfig, channelId: string, filters: F): { filters: F; note?: string } {
  const team = config.channel_teams[channelId];
  if (!team) return { filters };
  const note = filters.team && filters.team !== team ? `This channel only sees team ${team}'s data, so team:${filters.team} was ignored.` : undefined;
  return { filters: { ...filters, team }, ...(note ? { note } : {}) };
}

export async function handleFlowCommand(deps: FlowCommandDeps, command: Pick<SlashCommand, "text" | "team_id" | "channel_id">, respond: RespondFn): Promise<void> {
  const refused = accessProblem(deps.config, command.team_id, command.channel_id);
  if (refused) {
    await respond({ response_type: "ephemeral", text: refused, blocks: errorBlocks(refused) });
    return;
  }
  const parsed = parseCommand(command.text ?? "", { nowMs: (deps.now ?? Date.now)(), timezone: deps.timezone });
  if (!parsed.ok || parsed.metric === "help") {
    const problem = parsed.ok ? undefined : parsed.problem;
    await respond({ response_type: "ephemeral", text: problem ?? "How to use /flow", blocks: helpBlocks(problem) });
    return;
  }
  const { filters, note } = applyChannelTeam(deps.config, command.channel_id, parsed.filters);
  try {
    const answer = await computeAnswer(deps.metrics, parsed.metric, filters, parsed.windowLabel);
    if (note) answer.notes.push(note);
    await respond({ response_type: deps.config.public_answers ? "in_channel" : "ephemeral", text: answerFallback(answer), blocks: answerBlocks(answer) });
  } catch (error) {
    // The person gets a plain sentence; the details go to the log (which never holds tokens).
    deps.log.error(`/flow ${parsed.metric} failed: ${(error as Error).message}`);
    const message = "Sorry, I could not get those figures just now. The error is logged; try again in a minute.";
    await respond({ response_type: "ephemeral", text: message, blocks: errorBlocks(message) });
  }
}

export function registerFlowCommand(app: App, deps: FlowCommandDeps): void {
  app.command(deps.config.command, async ({ command, ack, respond }) => {
    await ack();
    await handleFlowCommand(deps, command, respond);
  });
}
