package io.switchboard.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The queries of the chart's Grafana dashboard and its alert expressions, as the chart ships them. */
final class ChartMonitoring {
    private static final Path FILES = SwitchboardProcess.REPO.resolve("charts/switchboard/files");

    private ChartMonitoring() {
    }

    /** Every panel query of {@code dashboard.json}, with the dashboard's variables filled in. */
    static List<String> queries() {
        try {
            JsonNode dash = new ObjectMapper().readTree(FILES.resolve("dashboard.json").toFile());
            List<String> out = new ArrayList<>();
            for (JsonNode panel : dash.path("panels")) {
                for (JsonNode target : panel.path("targets")) {
                    out.add(target.path("expr").asText().replace("$job", "kube-proxy").replace("$__rate_interval", "1m"));
                }
            }
            if (out.isEmpty()) {
                throw new IllegalStateException("no queries in dashboard.json");
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Alert name → expression, from {@code alerts.yaml}. */
    static Map<String, String> alertExpressions() {
        try {
            Map<String, String> out = new LinkedHashMap<>();
            Matcher m = Pattern.compile("- alert: (\\S+)\\s*\\n\\s*expr: (.+)").matcher(Files.readString(FILES.resolve("alerts.yaml")));
            while (m.find()) {
                out.put(m.group(1), m.group(2).strip());
            }
            if (out.isEmpty()) {
                throw new IllegalStateException("no alerts in alerts.yaml");
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
