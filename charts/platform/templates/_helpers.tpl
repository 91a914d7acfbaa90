{{/*
Chart name (app.kubernetes.io/name).
*/}}
{{- define "platform.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Full name prefix of every object: <release>-<chart name> (or the release name when it already
contains the chart name), at most 63 characters.
*/}}
{{- define "platform.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Name of a component's objects: <fullname>-<component>, at most 63 characters.
Usage: include "platform.componentName" (dict "ctx" $ "component" "api")
*/}}
{{- define "platform.componentName" -}}
{{- printf "%s-%s" (include "platform.fullname" .ctx) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Namespace of every namespaced object.
*/}}
{{- define "platform.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
helm.sh/chart label value.
*/}}
{{- define "platform.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Selector labels shared by every pod of the release.
*/}}
{{- define "platform.selectorLabels" -}}
app.kubernetes.io/name: {{ include "platform.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/*
Selector labels of one component.
Usage: include "platform.componentSelectorLabels" (dict "ctx" $ "component" "api")
*/}}
{{- define "platform.componentSelectorLabels" -}}
{{ include "platform.selectorLabels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/*
Standard labels of every object (without a component).
*/}}
{{- define "platform.labels" -}}
helm.sh/chart: {{ include "platform.chart" . }}
{{ include "platform.selectorLabels" . }}
{{- with .Chart.AppVersion }}
app.kubernetes.io/version: {{ . | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: {{ include "platform.name" . }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
Standard labels of a component's objects.
Usage: include "platform.componentLabels" (dict "ctx" $ "component" "api")
*/}}
{{- define "platform.componentLabels" -}}
{{ include "platform.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/*
Image reference: [registry/]repository[:tag][@digest]. The tag defaults to the appVersion.
Usage: include "platform.image" (dict "image" .Values.api.image "ctx" $)
*/}}
{{- define "platform.image" -}}
{{- $registry := default .ctx.Values.global.imageRegistry .image.registry -}}
{{- $repository := .image.repository -}}
{{- if $registry -}}
{{- $repository = printf "%s/%s" (trimSuffix "/" $registry) $repository -}}
{{- end -}}
{{- $tag := toString (default .ctx.Chart.AppVersion .image.tag) -}}
{{- $ref := $repository -}}
{{- if $tag -}}
{{- $ref = printf "%s:%s" $ref $tag -}}
{{- end -}}
{{- if .image.digest -}}
{{- $ref = printf "%s@%s" $ref .image.digest -}}
{{- end -}}
{{- $ref -}}
{{- end -}}

{{/*
ServiceAccount of the api and the worker (and the subject of the ClusterRoleBinding).
*/}}
{{- define "platform.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "platform.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
ServiceAccount of the ml-gateway.
*/}}
{{- define "platform.mlGateway.serviceAccountName" -}}
{{- if .Values.mlGateway.serviceAccount.create -}}
{{- default (include "platform.componentName" (dict "ctx" . "component" "ml-gateway")) .Values.mlGateway.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.mlGateway.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
Name of the cluster-scoped RBAC objects: includes the namespace, as two releases of the same
name in different namespaces must not share them.
*/}}
{{- define "platform.clusterRoleName" -}}
{{- printf "%s-%s-tenant-provisioner" (include "platform.namespace" .) (include "platform.fullname" .) -}}
{{- end -}}

{{/*
Name of the Secret holding DATABASE_URL, REDIS_URL and ADMIN_TOKEN.
*/}}
{{- define "platform.secretName" -}}
{{- default (include "platform.fullname" .) .Values.secret.existingSecret -}}
{{- end -}}

{{/*
DATABASE_URL written into the created Secret.
*/}}
{{- define "platform.databaseUrl" -}}
{{- if .Values.postgresql.enabled -}}
{{- $pg := .Values.postgresql -}}
{{- $password := required "postgresql.auth.password is required when postgresql.enabled=true" $pg.auth.password -}}
{{- printf "postgres://%s:%s@%s.%s.svc:%v/%s" $pg.auth.username $password (include "platform.componentName" (dict "ctx" . "component" "postgresql")) (include "platform.namespace" .) $pg.port $pg.auth.database -}}
{{- else -}}
{{- required "secret.databaseUrl is required (or secret.existingSecret, or postgresql.enabled=true)" .Values.secret.databaseUrl -}}
{{- end -}}
{{- end -}}

{{/*
REDIS_URL written into the created Secret.
*/}}
{{- define "platform.redisUrl" -}}
{{- if .Values.redis.enabled -}}
{{- printf "redis://%s.%s.svc:%v/0" (include "platform.componentName" (dict "ctx" . "component" "redis")) (include "platform.namespace" .) .Values.redis.port -}}
{{- else -}}
{{- required "secret.redisUrl is required (or secret.existingSecret, or redis.enabled=true)" .Values.secret.redisUrl -}}
{{- end -}}
{{- end -}}

{{/*
ADMIN_TOKEN written into the created Secret ("" in development: the api then uses its default).
*/}}
{{- define "platform.adminToken" -}}
{{- $token := .Values.secret.adminToken -}}
{{- if eq .Values.config.nodeEnv "production" -}}
{{- if lt (len $token) 32 -}}
{{- fail "secret.adminToken must be at least 32 characters when config.nodeEnv=production (or use secret.existingSecret)" -}}
{{- end -}}
{{- end -}}
{{- $token -}}
{{- end -}}

{{/*
ML_GATEWAY_URL of the api and the worker.
*/}}
{{- define "platform.mlGatewayUrl" -}}
{{- if .Values.config.mlGatewayUrl -}}
{{- .Values.config.mlGatewayUrl -}}
{{- else if .Values.mlGateway.enabled -}}
{{- printf "http://%s.%s.svc:%v" (include "platform.componentName" (dict "ctx" . "component" "ml-gateway")) (include "platform.namespace" .) .Values.mlGateway.service.port -}}
{{- else -}}
{{- fail "config.mlGatewayUrl is required when mlGateway.enabled=false" -}}
{{- end -}}
{{- end -}}

{{/*
Events of the migrations hook. The bundled PostgreSQL only exists after the install, so with it
the first run is post-install.
*/}}
{{- define "platform.migrations.hookEvents" -}}
{{- if .Values.postgresql.enabled -}}
post-install,pre-upgrade
{{- else -}}
pre-install,pre-upgrade
{{- end -}}
{{- end -}}

{{/*
Whether the KEDA ScaledObject is rendered: keda.enabled and (the API is served or keda.force).
*/}}
{{- define "platform.keda.render" -}}
{{- if and .Values.keda.enabled (or .Values.keda.force (.Capabilities.APIVersions.Has "keda.sh/v1alpha1")) -}}
true
{{- end -}}
{{- end -}}

{{/*
Environment variables with the Secret's values.
Usage: include "platform.secretEnv" (dict "ctx" $ "adminToken" true)
*/}}
{{- define "platform.secretEnv" -}}
{{- $name := include "platform.secretName" .ctx -}}
{{- $keys := .ctx.Values.secret.keys -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ $name }}
      key: {{ $keys.databaseUrl }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ $name }}
      key: {{ $keys.redisUrl }}
{{- if .adminToken }}
- name: ADMIN_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ $name }}
      key: {{ $keys.adminToken }}
      optional: true
{{- end }}
{{- end -}}

{{/*
Environment variables from a NAME: value map (values are quoted).
*/}}
{{- define "platform.envMap" -}}
{{- range $name, $value := . }}
- name: {{ $name }}
  value: {{ toString $value | quote }}
{{- end }}
{{- end -}}

{{/*
Pod template annotations that roll the pods when the ConfigMap or the created Secret changes.
*/}}
{{- define "platform.checksumAnnotations" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
{{- if not .Values.secret.existingSecret }}
checksum/secret: {{ include (print .Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end }}
{{- end -}}

{{/*
Scheduling fields of a pod spec: nodeSelector, affinity, tolerations, topology spread
(constraints without a labelSelector get the component's selector labels) and priority class.
Usage: include "platform.scheduling" (dict "ctx" $ "component" "api" "values" .Values.api)
*/}}
{{- define "platform.scheduling" -}}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if .values.topologySpreadConstraints }}
{{- $constraints := list }}
{{- range .values.topologySpreadConstraints }}
{{- $constraint := deepCopy . }}
{{- if not (hasKey $constraint "labelSelector") }}
{{- $_ := set $constraint "labelSelector" (dict "matchLabels" (include "platform.componentSelectorLabels" (dict "ctx" $.ctx "component" $.component) | fromYaml)) }}
{{- end }}
{{- $constraints = append $constraints $constraint }}
{{- end }}
topologySpreadConstraints:
  {{- toYaml $constraints | nindent 2 }}
{{- end }}
{{- with .values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- end -}}

{{/*
Pod disruption budget spec fields.
*/}}
{{- define "platform.pdbSpec" -}}
{{- if not (kindIs "invalid" .minAvailable) }}
minAvailable: {{ .minAvailable }}
{{- else if not (kindIs "invalid" .maxUnavailable) }}
maxUnavailable: {{ .maxUnavailable }}
{{- else }}
maxUnavailable: 1
{{- end }}
{{- end -}}

{{/*
HorizontalPodAutoscaler (autoscaling/v2) metrics.
*/}}
{{- define "platform.hpaMetrics" -}}
metrics:
  {{- with .targetCPUUtilizationPercentage }}
  - type: Resource
    resource:
      name: cpu
      target:
        type: Utilization
        averageUtilization: {{ . }}
  {{- end }}
  {{- with .targetMemoryUtilizationPercentage }}
  - type: Resource
    resource:
      name: memory
      target:
        type: Utilization
        averageUtilization: {{ . }}
  {{- end }}
{{- end -}}

{{/*
Values checks that a JSON schema cannot express.
*/}}
{{- define "platform.validateValues" -}}
{{- if and .Values.keda.enabled (not .Values.keda.redis.address) (not .Values.redis.enabled) (not .Values.secret.redisUrl) -}}
{{- fail "keda.redis.address is required when keda.enabled=true and neither redis.enabled nor secret.redisUrl is set" -}}
{{- end -}}
{{- if and .Values.mlGateway.autoscaling.enabled (not .Values.mlGateway.enabled) -}}
{{- fail "mlGateway.autoscaling.enabled needs mlGateway.enabled=true" -}}
{{- end -}}
{{- end -}}
