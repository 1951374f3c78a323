/**
 * The ECharts parts the views draw with, registered once. Importing from echarts/core and the parts
 * keeps the rest of ECharts out of the bundle.
 */
import { use, type ComposeOption } from 'echarts/core'
import { CanvasRenderer } from 'echarts/renderers'
import { HeatmapChart, LineChart, type HeatmapSeriesOption, type LineSeriesOption } from 'echarts/charts'
import {
  AriaComponent,
  GridComponent,
  LegendComponent,
  MarkAreaComponent,
  TooltipComponent,
  VisualMapComponent,
  type AriaComponentOption,
  type GridComponentOption,
  type LegendComponentOption,
  type MarkAreaComponentOption,
  type TooltipComponentOption,
  type VisualMapComponentOption
} from 'echarts/components'

use([CanvasRenderer, LineChart, HeatmapChart, AriaComponent, GridComponent, LegendComponent, MarkAreaComponent, TooltipComponent, VisualMapComponent])

export type ChartOption = ComposeOption<
  | LineSeriesOption
  | HeatmapSeriesOption
  | AriaComponentOption
  | GridComponentOption
  | LegendComponentOption
  | MarkAreaComponentOption
  | TooltipComponentOption
  | VisualMapComponentOption
>

export { default as VChart } from 'vue-echarts'
