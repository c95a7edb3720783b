package io.switchboard.charts;

import com.marcnuri.helm.Helm;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.KubernetesList;
import io.fabric8.kubernetes.client.utils.Serialization;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The chart rendered offline with helm-java, as an operator would install it, parsed as fabric8 objects. */
public final class ChartRender {
    private ChartRender() {
    }

    /** Renders the chart at {@code chart} with {@code key=value} settings (release sb in kube-system). */
    public static List<HasMetadata> render(Path chart, String... sets) {
        var template = new Helm(chart).template().withName("sb").withNamespace("kube-system");
        for (String s : sets) {
            int eq = s.indexOf('=');
            template = template.set(s.substring(0, eq), s.substring(eq + 1));
        }
        List<HasMetadata> out = new ArrayList<>();
        for (String doc : template.call().split("(?m)^---\\s*$")) {
            if (doc.strip().isEmpty() || doc.lines().allMatch(l -> l.isBlank() || l.startsWith("#"))) {
                continue;
            }
            Object o = Serialization.unmarshal(doc);
            if (o instanceof KubernetesList list) {
                out.addAll(list.getItems());
            } else {
                out.add((HasMetadata) o);
            }
        }
        return out;
    }
}
