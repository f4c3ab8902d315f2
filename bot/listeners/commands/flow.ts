// The `/flow` slash command. Slack wants an acknowledgement within 3 seconds, so we ack at once
// and post the answer through the command's response_url when the figures are ready.
import type { App, RespondFn, SlashCommand } from "@slack/bolt";
import { dashboardLink, forecastLink, VIEW_OF_METRIC } from "../../../present/links.ts";
import { computeAnswer } from "../../answer.ts";
import { answerBlocks, answerFallback, errorBlocks, helpBlocks } from "../../blocks/answer.ts";
import { forecastBlocks, forecastFallback } from "../../blocks/forecast.ts";
import { postable, type Block } from "../../blocks/kit.ts";
import type { SlackConfig } from "../../config.ts";
import type { BotMetrics } from "../../metrics.ts";
import { parseCommand } from "../../parse.ts";
import { channelMetrics, channelTeam, resolveNames, scopeFilters } from "../../scope.ts";

export interface FlowCommandDeps {
  config: SlackConfig;
  metrics: BotMetrics;
  /** Zone for "this month", "since 2026-01-01" (config metrics.timezone). */
  timezone: string;
  now?: () => number;
  /** dashboard.public_url: answers link to the dashboard view of the same figure. */
  dashboardUrl?: string;
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

export async function handleFlowCommand(deps: FlowCommandDeps, command: Pick<SlashCommand, "text" | "team_id" | "channel_id">, respond: RespondFn): Promise<void> {
  const reply = (visibility: "in_channel" | "ephemeral", text: string, blocks: Block[]) =>
    respond({ response_type: visibility, ...postable(text, blocks) });
  const refused = accessProblem(deps.config, command.team_id, command.channel_id);
  if (refused) {
    await reply("ephemeral", refused, errorBlocks(refused));
    return;
  }
  const parsed = parseCommand(command.text ?? "", { nowMs: (deps.now ?? Date.now)(), timezone: deps.timezone });
  if (!parsed.ok || parsed.metric === "help") {
    const problem = parsed.ok ? undefined : parsed.problem;
    await reply("ephemeral", problem ?? "How to use /flow", helpBlocks(problem));
    return;
  }
  try {
    // In a channel mapped to a team, team: is overridden anyway (with a note), so it is not
    // checked: the refusal would list every team's name in a channel that sees only one.
    const mapped = channelTeam(deps.config.channel_teams, command.channel_id) !== undefined;
    const asked = mapped ? { ...parsed.filters, team: undefined } : parsed.filters;
    let checked = asked;
    if (asked.team || asked.stream || asked.flowType) {
      let named = resolveNames(asked, await deps.metrics.names());
      if (!named.ok) named = resolveNames(asked, await deps.metrics.names(true));
      if (!named.ok) {
        await reply("ephemeral", named.problem, helpBlocks(named.problem));
        return;
      }
      checked = named.filters;
    }
    const { filters, note } = scopeFilters(deps.config.channel_teams, command.channel_id, mapped ? { ...checked, team: parsed.filters.team } : checked);
    const metrics = channelMetrics(deps.metrics, deps.config.channel_teams, command.channel_id);
    if (parsed.metric === "forecast") {
      const ask = parsed.forecast!;
      const scope = { stream: filters.stream, team: filters.team, flowType: filters.flowType, nowMs: (deps.now ?? Date.now)() };
      const forecast = ask.kind === "when" ? await metrics.forecastWhen(scope, ask.items) : await metrics.forecastHowMany(scope, ask.by);
      const link = deps.dashboardUrl ? forecastLink(deps.dashboardUrl, filters, ask) : undefined;
      await reply(deps.config.public_answers ? "in_channel" : "ephemeral", forecastFallback(forecast), forecastBlocks(forecast, note ? [note] : [], link));
      return;
    }
    const answer = await computeAnswer(metrics, parsed.metric, filters, parsed.windowLabel);
    if (note) answer.notes.push(note);
    if (deps.dashboardUrl) answer.dashboardUrl = dashboardLink(deps.dashboardUrl, VIEW_OF_METRIC[parsed.metric], { ...filters, timezone: deps.timezone }, (deps.now ?? Date.now)());
    await reply(deps.config.public_answers ? "in_channel" : "ephemeral", answerFallback(answer), answerBlocks(answer));
  } catch (error) {
    // The person gets a plain sentence; the details go to the log (which never holds tokens).
    deps.log.error(`/flow ${parsed.metric} failed: ${(error as Error).message}`);
    const message = "Sorry, I could not get those figures just now. The error is logged; try again in a minute.";
    await reply("ephemeral", message, errorBlocks(message));
  }
}

export function registerFlowCommand(app: App, deps: FlowCommandDeps): void {
  app.command(deps.config.command, async ({ command, ack, respond }) => {
    await ack();
    await handleFlowCommand(deps, command, respond);
  });
}
